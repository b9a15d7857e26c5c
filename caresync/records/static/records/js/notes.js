/* CareSync clinical notes and records: a small rich-text editor over each
 * textarea[data-rich] (the server sanitizes whatever arrives), note-type sections and
 * ICD-10 search (drag-and-drop uploads are in uploads.js). Without this script the
 * textareas and the code field still work. */
(function () {
  "use strict";

  var ALLOWED = {P: 1, BR: 1, STRONG: 1, B: 1, EM: 1, I: 1, U: 1, S: 1, UL: 1, OL: 1, LI: 1,
    H3: 1, H4: 1, BLOCKQUOTE: 1, A: 1, CODE: 1, PRE: 1, HR: 1, DIV: 1};

  /* Keep only simple formatting when loading HTML into the editor (defence in depth). */
  function cleanInto(target, html) {
    var doc = new DOMParser().parseFromString("<body>" + (html || "") + "</body>", "text/html");
    function copy(from, to) {
      Array.prototype.forEach.call(from.childNodes, function (node) {
        if (node.nodeType === 3) {
          to.appendChild(document.createTextNode(node.nodeValue));
        } else if (node.nodeType === 1) {
          if (ALLOWED[node.tagName]) {
            var el = document.createElement(node.tagName === "DIV" ? "p" : node.tagName);
            if (node.tagName === "A") {
              var href = node.getAttribute("href") || "";
              if (/^(https?:|mailto:)/i.test(href)) el.setAttribute("href", href);
            }
            copy(node, el);
            to.appendChild(el);
          } else if (node.tagName !== "SCRIPT" && node.tagName !== "STYLE") {
            copy(node, to);
          }
        }
      });
    }
    target.textContent = "";
    copy(doc.body, target);
  }

  var BUTTONS = [
    {cmd: "bold", label: "Bold", text: "B"},
    {cmd: "italic", label: "Italic", text: "I"},
    {cmd: "underline", label: "Underline", text: "U"},
    {cmd: "formatBlock", arg: "h4", label: "Heading", text: "H"},
    {cmd: "insertUnorderedList", label: "Bulleted list", text: "• List"},
    {cmd: "insertOrderedList", label: "Numbered list", text: "1. List"},
    {cmd: "formatBlock", arg: "p", label: "Normal text", text: "¶"}
  ];

  function richEditor(textarea) {
    var wrap = document.createElement("div");
    wrap.className = "rich-editor";
    var toolbar = document.createElement("div");
    toolbar.className = "rich-editor__toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "Formatting");
    var area = document.createElement("div");
    area.className = "rich-editor__area rich-text";
    area.contentEditable = "true";
    area.setAttribute("role", "textbox");
    area.setAttribute("aria-multiline", "true");
    var label = document.querySelector('label[for="' + textarea.id + '"]');
    if (label) {
      if (!label.id) label.id = textarea.id + "_label";
      area.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { area.focus(); });
    }
    if (textarea.getAttribute("aria-describedby")) {
      area.setAttribute("aria-describedby", textarea.getAttribute("aria-describedby"));
    }
    area.dataset.field = textarea.name;
    BUTTONS.forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "rich-editor__button";
      button.textContent = spec.text;
      button.title = spec.label;
      button.setAttribute("aria-label", spec.label);
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () {
        area.focus();
        document.execCommand(spec.cmd, false, spec.arg || null);
        sync();
      });
      toolbar.appendChild(button);
    });
    cleanInto(area, textarea.value);
    function sync() { textarea.value = area.innerHTML; }
    area.addEventListener("input", sync);
    area.addEventListener("paste", function (event) {
      var text = (event.clipboardData || window.clipboardData).getData("text/plain");
      event.preventDefault();
      document.execCommand("insertText", false, text);
      sync();
    });
    textarea.hidden = true;
    textarea.parentNode.insertBefore(wrap, textarea);
    wrap.appendChild(toolbar);
    wrap.appendChild(area);
    var form = textarea.form;
    if (form) form.addEventListener("submit", sync);
  }

  function noteTypeSections(form) {
    var select = form.querySelector('select[name="note_type"]');
    if (!select) return;
    function update() {
      form.querySelectorAll("[data-show-for]").forEach(function (section) {
        var types = section.getAttribute("data-show-for").split(" ");
        section.hidden = types.indexOf(select.value) === -1;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  function icdSearch(input) {
    var results = input.closest(".icd-search").querySelector("[data-icd-results]");
    var diagnosis = input.form.querySelector('input[name="diagnosis"]');
    var timer = null;
    var active = -1;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    results.id = input.id + "_results";
    input.setAttribute("aria-controls", results.id);

    function close() {
      results.hidden = true;
      results.textContent = "";
      input.setAttribute("aria-expanded", "false");
      active = -1;
    }
    function choose(row) {
      input.value = row.code;
      if (diagnosis && !diagnosis.value) diagnosis.value = row.title;
      close();
    }
    function show(rows) {
      results.textContent = "";
      rows.forEach(function (row, index) {
        var option = document.createElement("li");
        option.className = "icd-results__option";
        option.setAttribute("role", "option");
        option.id = results.id + "_" + index;
        var code = document.createElement("span");
        code.className = "mono";
        code.textContent = row.code;
        option.appendChild(code);
        option.appendChild(document.createTextNode(" " + row.title));
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(row);
        });
        option._row = row;
        results.appendChild(option);
      });
      results.hidden = rows.length === 0;
      input.setAttribute("aria-expanded", rows.length ? "true" : "false");
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var query = input.value.trim();
      if (query.length < 2) { close(); return; }
      timer = setTimeout(function () {
        fetch("/api/v1/icd10/?q=" + encodeURIComponent(query), {
          credentials: "same-origin", headers: {Accept: "application/json"}
        }).then(function (response) { return response.ok ? response.json() : {results: []}; })
          .then(function (body) { show(body.results || []); })
          .catch(close);
      }, 200);
    });
    input.addEventListener("keydown", function (event) {
      var options = results.querySelectorAll("[role=option]");
      if (!options.length) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        options.forEach(function (o, i) { o.classList.toggle("is-active", i === active); });
        input.setAttribute("aria-activedescendant", options[active].id);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(options[active]._row);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("textarea[data-rich]").forEach(richEditor);
  document.querySelectorAll("form[data-note-form]").forEach(noteTypeSections);
  document.querySelectorAll("input[data-icd-search]").forEach(icdSearch);
})();
