/* The staff calendar: FullCalendar week/day time grids fed by /calendar/events.json.
 *
 * The clinic's zone is a named time zone and no time-zone plugin is loaded, so FullCalendar
 * works in "UTC coercion": the server sends wall-clock times without an offset and reads the
 * start/end parameters the same way. `now` comes from the server for the same reason.
 */
(function () {
  "use strict";

  var element = document.getElementById("calendar");
  if (!element || !window.FullCalendar) return;
  var picker = document.getElementById("calendar-practitioner");
  var narrow = window.matchMedia("(max-width: 640px)");

  var calendar = new window.FullCalendar.Calendar(element, {
    initialView: narrow.matches ? "timeGridDay" : "timeGridWeek",
    timeZone: element.dataset.timeZone,
    now: element.dataset.now,
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
    headerToolbar: { left: "prev,next today", center: "title", right: "timeGridWeek,timeGridDay" },
    // Text, not FullCalendar's icon font: that font is a data: URI, which font-src 'self' refuses.
    buttonIcons: false,
    buttonText: { prev: "‹", next: "›", today: "Today", week: "Week", day: "Day" },
    expandRows: true,
    events: {
      url: element.dataset.eventsUrl,
      extraParams: function () {
        return picker && picker.value ? { practitioner: picker.value } : {};
      },
      failure: function () {
        element.setAttribute("data-error", "The appointments could not be loaded.");
      },
    },
    eventDidMount: function (info) {
      var props = info.event.extendedProps;
      info.el.setAttribute(
        "aria-label",
        info.event.title + ", " + props.statusLabel + ", with " + props.practitioner
      );
      info.el.title = props.statusLabel + " · " + props.practitioner;
    },
  });
  calendar.render();

  if (picker) {
    picker.addEventListener("change", function () {
      calendar.refetchEvents();
    });
  }
  narrow.addEventListener("change", function (event) {
    calendar.changeView(event.matches ? "timeGridDay" : "timeGridWeek");
  });
})();
