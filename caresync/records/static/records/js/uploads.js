/* CareSync drag-and-drop uploads with progress, for every [data-dropzone]: each file is
 * posted on its own to data-upload-url (with data-patient when given) and shown with a
 * progress bar, then a link (and a thumbnail for images). Inside a note form the new ids
 * go into its hidden "attachments" field. Without this script the file input is posted
 * with its form. */
(function () {
  "use strict";

  var IMAGE_KINDS = {png: 1, jpeg: 1};

  function csrfToken() {
    if (window.CareSync && window.CareSync.csrfToken) return window.CareSync.csrfToken() || "";
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function uploadedLink(body) {
    var link = document.createElement("a");
    link.className = "upload-list__name";
    link.href = body.download_url;
    link.textContent = body.name;
    if (IMAGE_KINDS[body.kind]) {
      var thumb = document.createElement("img");
      thumb.className = "report-image__thumb";
      thumb.src = body.download_url + "?inline=1";
      thumb.alt = body.name;
      thumb.loading = "lazy";
      link.textContent = "";
      link.appendChild(thumb);
      link.appendChild(document.createTextNode(" " + body.name));
    }
    return link;
  }

  function dropzone(zone) {
    var form = zone.closest("form");
    var input = zone.querySelector('input[type="file"]');
    var list = zone.querySelector("[data-upload-list]");
    var ids = form ? form.querySelector('input[name="attachments"]') : null;
    var submit = form ? form.querySelector('button[type="submit"]') : null;
    var pending = 0;
    zone.classList.add("is-enhanced");

    function remember(id) {
      if (!ids) return;
      var values = ids.value ? ids.value.split(",") : [];
      values.push(String(id));
      ids.value = values.join(",");
    }

    function upload(file) {
      var item = document.createElement("li");
      item.className = "upload-list__item";
      var name = document.createElement("span");
      name.className = "upload-list__name";
      name.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", "Uploading " + file.name);
      var status = document.createElement("span");
      status.className = "upload-list__status";
      status.textContent = "Uploading…";
      item.appendChild(name);
      item.appendChild(bar);
      item.appendChild(status);
      list.appendChild(item);

      var data = new FormData();
      data.append("file", file);
      if (zone.getAttribute("data-patient")) data.append("patient", zone.getAttribute("data-patient"));
      var xhr = new XMLHttpRequest();
      xhr.open("POST", zone.getAttribute("data-upload-url"));
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      pending += 1;
      if (submit) submit.disabled = true;
      xhr.addEventListener("loadend", function () {
        pending -= 1;
        if (submit && pending === 0) submit.disabled = false;
        var body = {};
        try { body = JSON.parse(xhr.responseText || "{}"); } catch (e) { body = {}; }
        if (xhr.status === 201) {
          bar.value = 100;
          status.textContent = "Uploaded";
          item.classList.add("is-done");
          item.setAttribute("data-attachment-id", body.id);
          if (body.download_url) item.replaceChild(uploadedLink(body), name);
          remember(body.id);
        } else {
          item.classList.add("is-error");
          bar.hidden = true;
          var error = body.error || {};
          var fieldErrors = (error.fields && error.fields.file) || [];
          status.textContent = (fieldErrors[0] && fieldErrors[0].message) || error.message ||
            "The upload failed.";
        }
      });
      xhr.send(data);
    }

    function take(files) {
      Array.prototype.forEach.call(files, upload);
    }

    input.addEventListener("change", function () {
      take(input.files);
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.remove("is-over");
      });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files) take(event.dataTransfer.files);
    });
  }

  document.querySelectorAll("[data-dropzone]").forEach(dropzone);
})();
