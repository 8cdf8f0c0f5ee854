// Small progressive enhancements; every page works without this script.
(function () {
  "use strict";

  // Ask before a destructive form is sent.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // The schedule shows only the fields its frequency reads. Without this script every field
  // shows, and the server ignores those the frequency does not read. A field with an error
  // stays in sight whatever the frequency, so its message is never hidden.
  var frequency = document.getElementById("f-frequency");
  var scheduleParts = document.querySelectorAll(".schedule-part[data-frequencies]");
  if (frequency && scheduleParts.length) {
    var showScheduleParts = function () {
      scheduleParts.forEach(function (part) {
        var used = part.getAttribute("data-frequencies").split(" ").indexOf(frequency.value) !== -1;
        part.hidden = !used && !part.querySelector(".has-error");
      });
    };
    frequency.addEventListener("change", showScheduleParts);
    showScheduleParts();
  }

  // Move focus to the error summary so screen readers announce it at once.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }

  // "Test connection" without leaving the page, so everything typed stays in the form, the
  // secret included (the server never sends a secret back). The answer is put above the
  // form and focused so it is read out. When the form has field errors, or anything goes
  // wrong, the form is sent the ordinary way and the page shows the messages.
  var test = document.querySelector("button[formaction$='/test-connection']");
  if (test && test.form && window.fetch && window.DOMParser) {
    var pending = false;
    test.addEventListener("click", function (event) {
      var form = test.form;
      if (document.getElementById("error-summary")) { return; }
      event.preventDefault();
      if (pending) { return; }
      pending = true;
      var fallback = function () { pending = false; form.requestSubmit(test); };
      fetch(test.formAction, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
        headers: { Accept: "text/html" }
      })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var answer = page.getElementById("connection-result");
          if (!answer || page.getElementById("error-summary")) { fallback(); return; }
          answer = document.importNode(answer, true);
          answer.setAttribute("tabindex", "-1");
          var previous = document.getElementById("connection-result");
          if (previous) {
            previous.replaceWith(answer);
          } else {
            form.parentNode.insertBefore(answer, form);
          }
          answer.focus();
          pending = false;
        })
        .catch(fallback);
    });
  }

  // Live progress of a running run: poll its JSON, update every figure in place (the
  // duration, size and objects above included), add the log lines written since the last
  // answer, and say so while the server does not answer. The page reloads once the run ends.
  var live = document.querySelector("[data-progress-url]");
  if (live && window.fetch) {
    var url = live.getAttribute("data-progress-url");
    var log = document.getElementById("run-log");
    var offline = document.getElementById("live-offline");
    var after = log ? Number(log.getAttribute("data-after")) || 0 : 0;
    var show = function (p) {
      document.querySelectorAll("[data-field]").forEach(function (el) {
        var value = p[el.getAttribute("data-field")];
        if (typeof value === "string" || typeof value === "number") { el.textContent = value; }
      });
      var bar = live.querySelector("progress[data-bar]");
      if (bar) {
        if (typeof p.percent_value === "number") { bar.value = p.percent_value; } else { bar.removeAttribute("value"); }
        bar.textContent = p.percent;
      }
      (p.log || []).forEach(function (line) {
        if (!log || line.id <= after) { return; }
        var item = document.createElement("li");
        item.className = "log-" + line.level;
        var time = document.createElement("time");
        time.textContent = line.at;
        item.appendChild(time);
        item.appendChild(document.createTextNode(" " + line.level_text + " — " + line.message));
        log.appendChild(item);
        after = line.id;
      });
    };
    var tick = function () {
      fetch(url + "?after=" + after, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        })
        .then(function (p) {
          if (offline) { offline.hidden = true; }
          show(p);
          if (p.status && p.status !== "running") {
            window.location.reload();
          } else {
            window.setTimeout(tick, 1000);
          }
        })
        .catch(function () {
          if (offline) { offline.hidden = false; }
          window.setTimeout(tick, 2000);
        });
    };
    window.setTimeout(tick, 1000);
  }

  // A site source: typing a bench folder offers the sites found in it; "Backup files"
  // only shows for a site. Without this the admin types the site folder.
  var siteLocation = document.querySelector("input[data-sites]");
  var kind = document.getElementById("f-kind");
  if (siteLocation && kind) {
    var list = document.getElementById(siteLocation.getAttribute("list"));
    var files = document.getElementById("f-backup_files");
    var filesField = files ? files.closest(".field") : null;
    var asked = "";
    var timer = null;
    var showFiles = function () {
      if (filesField) { filesField.hidden = kind.value !== "frappe"; }
    };
    var suggest = function () {
      var bench = siteLocation.value.trim();
      if (kind.value !== "frappe" || bench.charAt(0) !== "/" || bench === asked || !list) { return; }
      asked = bench;
      fetch(siteLocation.getAttribute("data-sites") + "?bench=" + encodeURIComponent(bench),
        { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (sites) {
          list.textContent = "";
          sites.forEach(function (site) {
            var option = document.createElement("option");
            option.value = site;
            list.appendChild(option);
          });
        })
        .catch(function () {});
    };
    siteLocation.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 300);
    });
    kind.addEventListener("change", function () { showFiles(); asked = ""; suggest(); });
    showFiles();
  }
})();
