/* The staff calendar: FullCalendar (with its resource views) fed by /calendar/events.json and
 * /calendar/resources.json.
 *
 * Views: month, week and day, and two resource day views, one column per practitioner or per
 * room/scanner. Appointments are coloured by status or by service (a toggle, remembered);
 * holidays, closures and time off come from the server as background events, working hours as
 * business hours. Dragging or resizing a visit asks the server (POST .../move/), which moves it
 * through the booking rules; a refusal puts the visit back and says why in a toast.
 *
 * The clinic's zone is a named time zone and no time-zone plugin is loaded, so FullCalendar
 * works in "UTC coercion": a Date's UTC fields are the clinic's wall-clock time. The server
 * sends and reads wall times without an offset; `now` comes from the server for the same
 * reason.
 */
(function () {
  "use strict";

  var element = document.getElementById("calendar");
  if (!element || !window.FullCalendar) return;
  var data = element.dataset;
  var picker = document.getElementById("calendar-practitioner");
  var colourPicker = document.getElementById("calendar-colour");
  var narrow = window.matchMedia("(max-width: 640px)");
  var canMove = data.canMove === "true";
  var canBook = data.canBook === "true";
  var VIEWS = ["dayGridMonth", "timeGridWeek", "timeGridDay", "byPractitioner", "byRoom"];
  var GROUP_OF_VIEW = { byPractitioner: "practitioner", byRoom: "room" };
  var COLOUR_KEY = "caresync.calendar.colour";

  var query = new URLSearchParams(window.location.search);
  var initialView = VIEWS.indexOf(query.get("view")) >= 0 ? query.get("view") : null;
  var initialDate = /^\d{4}-\d{2}-\d{2}$/.test(query.get("date") || "") ? query.get("date") : null;
  var colourMode = "status";
  try {
    colourMode = window.localStorage.getItem(COLOUR_KEY) === "service" ? "service" : "status";
  } catch (error) {
    /* storage may be off; the default stays */
  }

  /* A FullCalendar date (UTC coercion) as the clinic's wall time, e.g. 2026-03-02T09:30:00. */
  function wallText(date) {
    return date.toISOString().slice(0, 19);
  }

  function toast(title, text, icon) {
    if (window.CareSync && window.CareSync.toast) {
      window.CareSync.toast(title, text, { icon: icon || "circle-alert", timeout: 10000 });
    }
  }

  function csrfToken() {
    if (window.CareSync && window.CareSync.csrfToken) return window.CareSync.csrfToken() || "";
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function groupOf(viewType) {
    return GROUP_OF_VIEW[viewType] || null;
  }

  function chosenPractitioner() {
    return picker && picker.value ? picker.value : "";
  }

  /* ------------------------------------------------------------------ colours */
  function colourOf(props) {
    return colourMode === "service" ? props.serviceColour : props.statusColour;
  }

  function showLegend() {
    var shown = null;
    document.querySelectorAll("[data-legend]").forEach(function (legend) {
      var on = legend.getAttribute("data-legend") === colourMode;
      legend.hidden = !on;
      if (on) shown = legend.id;
    });
    if (shown) element.setAttribute("aria-describedby", shown);
  }

  /* ------------------------------------------------------------------ resources */
  var columns = []; // the last resource feed: practitioners and rooms
  var columnsGroup = groupOf(initialView) || "practitioner"; // what the resource views were given

  function visibleColumns(group) {
    var wanted = chosenPractitioner();
    return columns.filter(function (column) {
      if (column.group !== group) return false;
      return group !== "practitioner" || !wanted || String(column.practitionerId) === wanted;
    });
  }

  function loadResources(info, success, failure) {
    var params = new URLSearchParams({ start: wallText(info.start), end: wallText(info.end) });
    fetch(data.resourcesUrl + "?" + params, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (found) {
        columns = found;
        columnsGroup = groupOf(calendar ? calendar.view.type : initialView) || "practitioner";
        success(visibleColumns(columnsGroup));
        applyBusinessHours();
      })
      .catch(function (error) {
        failure(error);
      });
  }

  /* Outside the resource views, one practitioner's working hours grey the rest of the day. */
  var appliedHours = null;
  function applyBusinessHours() {
    if (!calendar) return;
    var hours = false;
    var wanted = chosenPractitioner();
    if (!groupOf(calendar.view.type) && wanted) {
      var column = columns.filter(function (c) {
        return c.group === "practitioner" && String(c.practitionerId) === wanted;
      })[0];
      if (column) hours = column.businessHours.length ? column.businessHours : [{ daysOfWeek: [] }];
    }
    var key = JSON.stringify(hours);
    if (key === appliedHours) return;
    appliedHours = key;
    calendar.setOption("businessHours", hours);
  }

  /* ------------------------------------------------------------------ moving */
  function reasonOf(result) {
    var error = result.data && result.data.error;
    if (!error) {
      return result.status === 403
        ? "Your session may have expired: reload the page and try again."
        : "The server did not accept the change. Nothing was moved.";
    }
    var text = error.message || "The visit could not be moved.";
    var fields = error.fields || {};
    Object.keys(fields).forEach(function (name) {
      (fields[name] || []).forEach(function (problem) {
        if (problem.message && text.indexOf(problem.message) < 0) text += " " + problem.message;
      });
    });
    if (error.alternatives && error.alternatives.length) {
      text +=
        " Free nearby: " +
        error.alternatives
          .slice(0, 3)
          .map(function (alternative) {
            return alternative.label;
          })
          .join(", ") +
        ".";
    }
    return text;
  }

  function replaceEvent(old, fresh) {
    var source = calendar.getEventSourceById("appointments");
    old.remove();
    calendar.addEvent(paint(fresh), source || undefined);
  }

  /* Colours an appointment for the current mode. Closed days come as midnight-to-midnight
   * timed events, which the time grids shade; the month grid only shades all-day ones. */
  function paint(event) {
    var props = event.extendedProps || {};
    if (props.kind === "appointment") {
      event.backgroundColor = colourOf(props);
      event.borderColor = event.backgroundColor;
    } else if (props.kind === "public_holiday" || props.kind === "closure") {
      var viewType = calendar ? calendar.view.type : initialView || "timeGridWeek";
      if (viewType.indexOf("dayGrid") === 0) {
        event.allDay = true;
        event.start = event.start.slice(0, 10);
        event.end = event.end.slice(0, 10);
      }
    }
    return event;
  }

  function move(info) {
    var event = info.event;
    var body = { start: wallText(event.start) };
    if (event.end) body.end = wallText(event.end);
    if (info.newResource) {
      var target = info.newResource.id;
      if (target.indexOf("p-") !== 0) {
        info.revert();
        toast(
          "Not moved",
          "Rooms and scanners are assigned with the booking. Move the visit in time, or to " +
            "another practitioner in the practitioners view."
        );
        return;
      }
      body.practitioner = Number(target.slice(2));
    }
    event.setProp("classNames", event.classNames.concat(["is-saving"]));
    fetch(data.moveUrl.replace("/0/", "/" + encodeURIComponent(event.id) + "/"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (json) {
            return { ok: response.ok, status: response.status, data: json };
          });
      })
      .then(function (result) {
        if (result.ok && result.data && result.data.event) {
          replaceEvent(event, result.data.event);
          var props = result.data.event.extendedProps;
          toast(
            "Visit moved",
            event.title + " · " + result.data.event.start.slice(11, 16) + " with " +
              props.practitioner + " (" + props.statusLabel.toLowerCase() + ").",
            "circle-check"
          );
          return;
        }
        info.revert();
        event.setProp(
          "classNames",
          event.classNames.filter(function (name) {
            return name !== "is-saving";
          })
        );
        toast("Not moved", reasonOf(result));
      })
      .catch(function () {
        info.revert();
        toast("Not moved", "The calendar could not reach the server. Nothing was changed.");
      });
  }

  /* ------------------------------------------------------------------ booking */
  function book(info) {
    var params = new URLSearchParams();
    if (info.allDay) params.set("day", info.startStr.slice(0, 10));
    else params.set("start", wallText(info.start));
    var practitioner = chosenPractitioner();
    if (info.resource) {
      practitioner = info.resource.id.indexOf("p-") === 0 ? info.resource.id.slice(2) : "";
    }
    if (practitioner) params.set("practitioner", practitioner);
    window.location.assign(data.bookUrl + "?" + params);
  }

  /* ------------------------------------------------------------------ the calendar */
  var eventsGroup = null; // whether the last event fetch asked for every practitioner's time off

  var calendar = new window.FullCalendar.Calendar(element, {
    schedulerLicenseKey: "GPL-My-Project-Is-Open-Source", // AGPL-3.0 project: GPLv3 option
    initialView: initialView || (narrow.matches ? "timeGridDay" : "timeGridWeek"),
    initialDate: initialDate || undefined,
    timeZone: data.timeZone,
    now: data.now,
    nowIndicator: true,
    firstDay: 1,
    height: "auto",
    allDaySlot: false,
    slotMinTime: "07:00:00",
    slotMaxTime: "20:00:00",
    slotDuration: "00:15:00",
    slotLabelInterval: "01:00",
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    headerToolbar: {
      left: "prev,next today",
      center: "title",
      right: "dayGridMonth,timeGridWeek,timeGridDay byPractitioner,byRoom",
    },
    views: {
      byPractitioner: { type: "resourceTimeGrid", duration: { days: 1 } },
      byRoom: { type: "resourceTimeGrid", duration: { days: 1 } },
      dayGridMonth: { dayMaxEvents: 4 },
    },
    // Text, not FullCalendar's icon font: that font is a data: URI, which font-src 'self' refuses.
    buttonIcons: false,
    // By view name: the "day" entry would otherwise name the one-day resource views too.
    buttonText: {
      prev: "‹",
      next: "›",
      today: "Today",
      month: "Month",
      week: "Week",
      day: "Day",
      byPractitioner: "Practitioners",
      byRoom: "Rooms",
    },
    expandRows: true,
    resourceOrder: "title",
    refetchResourcesOnNavigate: true,
    resources: loadResources,
    editable: canMove,
    eventDurationEditable: canMove,
    eventResourceEditable: canMove,
    selectable: canBook,
    selectMirror: true,
    unselectAuto: true,
    select: book,
    eventDrop: move,
    eventResize: move,
    eventSources: [
      {
        id: "appointments",
        url: data.eventsUrl,
        extraParams: function () {
          var params = {};
          if (chosenPractitioner()) params.practitioner = chosenPractitioner();
          eventsGroup = calendar ? groupOf(calendar.view.type) : groupOf(initialView);
          if (eventsGroup) params.resources = "1";
          return params;
        },
        failure: function () {
          element.setAttribute("data-error", "The appointments could not be loaded.");
        },
      },
    ],
    eventDataTransform: paint,
    eventDidMount: function (info) {
      var props = info.event.extendedProps;
      if (props.kind !== "appointment") {
        info.el.title = info.event.title;
        return;
      }
      info.el.setAttribute(
        "aria-label",
        info.event.title + ", " + props.statusLabel + ", with " + props.practitioner
      );
      info.el.title = props.statusLabel + " · " + props.service + " · " + props.practitioner;
      info.el.setAttribute("data-appointment", info.event.id);
    },
    datesSet: function (info) {
      var group = groupOf(info.view.type);
      if (group && group !== columnsGroup) {
        columnsGroup = group;
        calendar.refetchResources();
      }
      if ((group === null) !== (eventsGroup === null)) {
        calendar.refetchEvents();
      }
      applyBusinessHours();
      var params = new URLSearchParams(window.location.search);
      params.set("view", info.view.type);
      params.set("date", wallText(info.view.currentStart).slice(0, 10));
      params.set("practitioner", chosenPractitioner());
      window.history.replaceState(null, "", "?" + params);
    },
  });
  calendar.render();
  element.removeAttribute("data-error");
  showLegend();
  if (colourPicker) colourPicker.value = colourMode;

  if (picker) {
    picker.addEventListener("change", function () {
      var params = new URLSearchParams(window.location.search);
      params.set("practitioner", chosenPractitioner());
      window.history.replaceState(null, "", "?" + params);
      if (groupOf(calendar.view.type)) calendar.refetchResources();
      calendar.refetchEvents();
      applyBusinessHours();
    });
  }
  if (colourPicker) {
    colourPicker.addEventListener("change", function () {
      colourMode = colourPicker.value === "service" ? "service" : "status";
      try {
        window.localStorage.setItem(COLOUR_KEY, colourMode);
      } catch (error) {
        /* not remembered; still applied */
      }
      calendar.getEvents().forEach(function (event) {
        if (event.extendedProps.kind !== "appointment") return;
        var colour = colourOf(event.extendedProps);
        event.setProp("backgroundColor", colour);
        event.setProp("borderColor", colour);
      });
      showLegend();
    });
  }
  // A phone-sized window shows one day; widening again restores the week only if the narrowing
  // chose the day view (a screenshot or zoom can fire this with nothing really changed).
  var narrowed = false;
  narrow.addEventListener("change", function (event) {
    if (event.matches && calendar.view.type === "timeGridWeek") {
      narrowed = true;
      calendar.changeView("timeGridDay");
    } else if (!event.matches && narrowed && calendar.view.type === "timeGridDay") {
      narrowed = false;
      calendar.changeView("timeGridWeek");
    }
  });
})();
