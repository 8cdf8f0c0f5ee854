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

  // Live progress of a running backup: poll its JSON and update the fields in place.
  var live = document.querySelector("[data-progress-url]");
  if (live) {
    var url = live.getAttribute("data-progress-url");
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return; }
          Object.keys(p).forEach(function (key) {
            var el = live.querySelector('[data-field="' + key + '"]');
            if (el) { el.textContent = p[key]; }
            var bar = live.querySelector('[data-bar="' + key + '"]');
            if (bar && p[key] !== null) { bar.value = p[key]; bar.textContent = p.percent; }
          });
          if (p.status && p.status !== "running") {
            window.location.reload();
          } else {
            window.setTimeout(tick, 1000);
          }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    };
    window.setTimeout(tick, 1000);
  }
})();
