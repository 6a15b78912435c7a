// The portal's and consoles' small behaviours, from this file rather than inline, so the pages'
// Content-Security-Policy can forbid inline script:
//   <form data-confirm="Really?">      asks before submitting
//   <button data-copy-text="…" data-copy-label="payment id">
//                                       copies the text, shows "Copied" on the button and says
//                                       "Copied payment id" through the page's live region
//                                       (templates/partials/copy.html, the `copy` template tag)
//   <button data-copy-target="id">     copies the text of element #id (same feedback)
//   tables that scroll sideways on a phone (.table, .table-wrap, the admin's inline groups and
//                                       result lists) take keyboard focus, so they can be scrolled
//                                       without a mouse
//   <figure data-chart>                 a bar chart (templates/partials/bar_chart.html): one
//                                       tab stop, arrow keys / Home / End move between bars,
//                                       focus or pointer shows the bar's tooltip, Esc hides it
(function () {
  "use strict";
  var STATUS_ID = "copy-status";
  var RESET_MS = 2000;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // One polite live region per page; base.html has it, the admin console's pages get it here,
  // at load rather than at the click, so screen readers already watch it when it speaks.
  function statusRegion() {
    var region = document.getElementById(STATUS_ID);
    if (!region && document.body) {
      region = document.createElement("p");
      region.id = STATUS_ID;
      region.className = "sr-only";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    return region;
  }
  // On a narrow screen wide tables scroll inside their box (site.css); a box that scrolls must
  // be reachable with the keyboard to be scrolled with the arrow keys. Set at load for every
  // such box, since whether it scrolls changes with the window's width.
  var SCROLLERS = ".table, .table-wrap, .inline-group, #changelist .results";
  function scrollersFocusable() {
    var boxes = document.querySelectorAll(SCROLLERS);
    for (var i = 0; i < boxes.length; i += 1) {
      var box = boxes[i];
      // The innermost box is the one that scrolls (an outer one holds it whole).
      if (!box.hasAttribute("tabindex") && !box.querySelector(SCROLLERS)) {
        box.setAttribute("tabindex", "0");
      }
    }
  }

  function onReady() {
    statusRegion();
    scrollersFocusable();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onReady);
  } else {
    onReady();
  }

  function announce(text) {
    var region = statusRegion();
    if (!region) {
      return;
    }
    // Cleared first so the same message twice in a row is announced twice.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 50);
  }

  // Where the Clipboard API is missing (an http:// page other than localhost): a hidden
  // textarea and the older copy command.
  function copyFallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return copyFallback(text);
      });
    }
    return copyFallback(text);
  }

  function feedback(button, label, copied) {
    var state = button.querySelector(".copy-state");
    var visible = state || button;
    if (!button.hasAttribute("data-copy-idle")) {
      button.setAttribute("data-copy-idle", visible.textContent);
    }
    visible.textContent = copied ? "Copied" : "Copy failed";
    button.classList.toggle("copied", copied);
    announce(copied ? "Copied " + label : "Copy failed: select the text and press Ctrl+C");
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(function () {
      visible.textContent = button.getAttribute("data-copy-idle");
      button.classList.remove("copied");
    }, RESET_MS);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-text], [data-copy-target]");
    if (!button) {
      return;
    }
    var text = button.getAttribute("data-copy-text");
    if (text === null) {
      var source = document.getElementById(button.getAttribute("data-copy-target"));
      text = source ? source.innerText.trim() : "";
    }
    var label = button.getAttribute("data-copy-label") || "";
    copyText(text).then(
      function () { feedback(button, label, true); },
      function () { feedback(button, label, false); }
    );
  });

  // --- bar charts -------------------------------------------------------------------------
  function chartOf(node) {
    return node && node.closest ? node.closest("[data-chart]") : null;
  }

  function pointOf(node) {
    return node && node.closest ? node.closest("[data-chart] .point") : null;
  }

  function hideTip(chart) {
    var tip = chart && chart.querySelector(".chart-tip");
    if (tip) {
      tip.hidden = true;
    }
    var active = chart && chart.querySelector(".point.active");
    if (active) {
      active.classList.remove("active");
    }
  }

  function showTip(point) {
    var chart = chartOf(point);
    var tip = chart && chart.querySelector(".chart-tip");
    if (!tip) {
      return;
    }
    hideTip(chart);
    point.classList.add("active");
    var parts = (point.getAttribute("data-tip") || "").split("|");
    tip.textContent = "";
    var title = document.createElement("strong");
    title.textContent = parts[0];
    tip.appendChild(title);
    for (var i = 1; i < parts.length; i += 1) {
      tip.appendChild(document.createTextNode(parts[i]));
      if (i < parts.length - 1) {
        tip.appendChild(document.createElement("br"));
      }
    }
    tip.hidden = false;
    // Above the bar's slot, kept inside the chart's box (so it never widens the page).
    var box = chart.getBoundingClientRect();
    var slot = point.querySelector(".hit").getBoundingClientRect();
    var bar = point.querySelector(".bar");
    var top = bar ? bar.getBoundingClientRect().top : slot.top;
    var left = slot.left - box.left + slot.width / 2 - tip.offsetWidth / 2;
    left = Math.max(0, Math.min(left, box.width - tip.offsetWidth));
    tip.style.left = left + "px";
    tip.style.top = Math.max(0, top - box.top - tip.offsetHeight - 6) + "px";
  }

  function moveFocus(point, step, toEnd) {
    var points = Array.prototype.slice.call(chartOf(point).querySelectorAll(".point"));
    var index = points.indexOf(point);
    var next = toEnd === "first" ? 0 : toEnd === "last" ? points.length - 1 : index + step;
    next = Math.max(0, Math.min(points.length - 1, next));
    if (next === index) {
      return;
    }
    point.setAttribute("tabindex", "-1");
    points[next].setAttribute("tabindex", "0");
    points[next].focus();
  }

  document.addEventListener("keydown", function (event) {
    var point = pointOf(event.target);
    if (!point) {
      return;
    }
    var moves = {ArrowLeft: [-1], ArrowDown: [-1], ArrowRight: [1], ArrowUp: [1],
                 Home: [0, "first"], End: [0, "last"]};
    if (event.key === "Escape") {
      hideTip(chartOf(point));
      return;
    }
    if (moves[event.key]) {
      event.preventDefault();
      moveFocus(point, moves[event.key][0], moves[event.key][1]);
    }
  });
  document.addEventListener("focusin", function (event) {
    var point = pointOf(event.target);
    if (point) {
      showTip(point);
    }
  });
  document.addEventListener("focusout", function (event) {
    var point = pointOf(event.target);
    if (point) {
      hideTip(chartOf(point));
    }
  });
  document.addEventListener("mouseover", function (event) {
    var point = pointOf(event.target);
    if (point) {
      showTip(point);
    }
  });
  document.addEventListener("mouseout", function (event) {
    var point = pointOf(event.target);
    if (point && !point.contains(event.relatedTarget)) {
      hideTip(chartOf(point));
    }
  });
})();
