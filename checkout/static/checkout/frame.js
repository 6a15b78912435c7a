/* SuperPayment payment frame. Runs on the platform's origin inside the widget's modal; talks to
   the shop's page only by postMessage to the exact origin the session was opened on.
   A shopper reads only the wording below: the endpoints' messages are written for developers
   too, so they go to the console, except the voucher refusals written for shoppers. */
(function () {
  "use strict";
  var main = document.getElementById("sp-frame");
  var d = main.dataset;
  var exponent = parseInt(d.exponent, 10);
  var parentOrigin = d.parentOrigin;
  var busy = false;
  var paid = null;
  var formatter;
  try {
    formatter = new Intl.NumberFormat(d.locale || undefined, { style: "currency", currency: d.currency });
  } catch (e) {
    formatter = new Intl.NumberFormat(undefined, { style: "currency", currency: d.currency });
  }

  // Terminal problems: the form goes, a panel says what happened and what the shopper can do.
  var SETUP = "This shop's checkout is not set up correctly. Please contact the shop. No voucher was charged.";
  var PROBLEMS = {
    expired: ["This checkout has expired", "Start again to pay. No voucher was charged.", true],
    stale: ["This payment page is out of date", "Start again to pay. No voucher was charged.", true],
    gone: ["This checkout is no longer available", "Start again to pay. No voucher was charged.", true],
    paid: ["This order is already paid", "Nothing more to pay here. No voucher was charged.", false],
    setup: ["Voucher payment isn't available", SETUP, false]
  };
  var PROBLEM_OF = {
    checkout_session_expired: "expired",
    confirm_token_invalid: "stale",
    checkout_session_not_found: "gone",
    checkout_session_completed: "paid",
    order_already_paid: "paid",
    live_mode_not_activated: "setup",
    origin_not_allowed: "setup",
    pay_button_not_accepted: "setup",
    request_invalid: "setup",
    parameter_invalid: "setup",
    body_too_large: "setup"
  };
  // Refusals whose message the vouchers app writes for shoppers (docs/checkout.md quotes them).
  var SHOPPER_WORDED = { voucher_not_redeemable: 1, voucher_duplicate: 1, remembered_voucher_missing: 1 };

  function money(minor) {
    var text = (minor / Math.pow(10, exponent)).toFixed(exponent);
    return formatter.format(text);
  }
  function $(id) { return document.getElementById(id); }
  function show(id, visible) { if ($(id)) $(id).hidden = !visible; }

  function post(message) {
    if (window.parent === window || !parentOrigin) return;
    message.source = "superpayment";
    message.session = d.session;
    window.parent.postMessage(message, parentOrigin);
  }
  function resize() {
    post({ type: "resize", height: Math.ceil(document.documentElement.scrollHeight) });
  }
  function announce(text) {
    // Cleared first, so the same sentence twice is read twice.
    var live = $("sp-live");
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }
  function fillTotals(root) {
    var spans = (root || document).querySelectorAll(".total[data-minor]");
    for (var i = 0; i < spans.length; i++) spans[i].textContent = money(parseInt(spans[i].dataset.minor, 10));
  }

  function codeError(message) {
    var input = $("sp-code");
    var box = $("sp-code-error");
    if (!input) return;
    box.textContent = message || "";
    box.hidden = !message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  function alertShow(message) {
    var box = $("sp-alert");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // The shopper's sentence for a refusal, by its code and what they were doing.
  function wording(error, during) {
    var code = error.code;
    var named = /\u2026([0-9A-Za-z]{4})/.exec(error.message || "");
    var voucher = named ? "Voucher \u2022\u2022\u2022\u2022" + named[1] : "One of your vouchers";
    if (SHOPPER_WORDED[code] && error.message) return error.message.replace(/\u2026/g, "\u2022\u2022\u2022\u2022");
    if (code === "code_attempts_exceeded") return "Too many codes were tried. Please wait a few minutes, then try again.";
    if (code === "insufficient_balance") {
      return named ? voucher + " doesn't have enough left for this payment. Remove it or add another voucher."
        : "Your vouchers don't cover the full amount. Add another voucher.";
    }
    if (code === "code_invalid") return during === "add" ? "You can't add more vouchers to this payment." : "Add a voucher code to pay.";
    if (!code) {
      return during === "confirm"
        ? "We couldn't confirm your payment. Check your connection and try again; you won't be charged twice."
        : "We couldn't reach the payment service. Check your connection and try again.";
    }
    return "Something went wrong. Please try again.";
  }

  function api(path, body) {
    return fetch(d.base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = (data && data.error) || {};
          var failure = new Error(error.message || "HTTP " + response.status);
          failure.code = error.code || (response.status === 429 ? "code_attempts_exceeded" : "");
          throw failure;
        }
        return data;
      });
    });
  }

  function summary(plan) {
    if (plan.vouchers.length === 0) return "";
    return plan.remaining === 0 ? "Your vouchers cover the full amount." : "Still to pay: " + money(plan.remaining) + ". Add another voucher.";
  }

  function render(plan) {
    var list = $("sp-vouchers");
    if (!list) return;
    list.textContent = "";
    plan.vouchers.forEach(function (voucher) {
      var item = document.createElement("li");
      var text = document.createElement("span");
      text.textContent = "Voucher ••••" + voucher.code_last4 + ": " +
        (voucher.held ? "pays " + money(voucher.held) : "not needed") +
        " (" + money(voucher.available) + " available)";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove voucher ••••" + voucher.code_last4);
      remove.addEventListener("click", function () {
        if (busy) return;
        run(api("vouchers/" + encodeURIComponent(voucher.id) + "/remove"), "remove").then(function (next) {
          if (!next) return;
          render(next);
          announce("Voucher ••••" + voucher.code_last4 + " removed. " + (summary(next) || "No vouchers added."));
          $("sp-code").focus();
        });
      });
      item.appendChild(text);
      item.appendChild(remove);
      list.appendChild(item);
    });
    $("sp-remaining").textContent = summary(plan);
    $("sp-pay").disabled = !(plan.vouchers.length > 0 && plan.remaining === 0);
    resize();
  }

  function problemShow(kind) {
    var words = PROBLEMS[kind];
    ["sp-entry", "sp-remembered", "sp-alert", "sp-cancel-wrap"].forEach(function (id) { show(id, false); });
    $("sp-problem-title").textContent = words[0];
    $("sp-problem-text").textContent = words[1];
    show("sp-restart", words[2]);
    show("sp-problem", true);
    announce(words[0] + ". " + words[1]);
    resize();
    ($("sp-restart").hidden ? $("sp-close") : $("sp-restart")).focus();
  }

  // Runs a request; on a refusal shows it (where the shopper was) and resolves to undefined.
  function run(promise, during) {
    busy = true;
    alertShow("");
    codeError("");
    return promise.then(function (value) { busy = false; return value; }, function (error) {
      busy = false;
      if (window.console) console.error("SuperPayment: " + (error.code || "network_error") + ": " + error.message);
      post({ type: "error", code: error.code || "network_error", message: error.message });
      if (PROBLEM_OF[error.code]) {
        problemShow(PROBLEM_OF[error.code]);
      } else if (during === "add") {
        codeError(wording(error, during));
        $("sp-code").focus();
        $("sp-code").select();
        resize();
      } else {
        if (error.code === "remembered_voucher_missing") useAnother();
        alertShow(wording(error, during));
        $("sp-alert").focus();
        resize();
      }
    });
  }

  function when(iso) {
    try {
      return new Intl.DateTimeFormat(d.locale || undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
      }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  // The receipt: what was paid, with which vouchers (and what each has left, when the answer
  // says: only for codes typed in this checkout), and the payment's reference.
  function receiptShow(receipt) {
    paid = receipt;
    ["sp-entry", "sp-remembered", "sp-alert", "sp-problem", "sp-cancel-wrap"].forEach(function (id) { show(id, false); });
    main.querySelector("#sp-title .label").textContent = "Paid";
    $("sp-receipt-summary").textContent = "You paid " + money(receipt.amount) + " to " + d.merchant + ".";
    $("sp-receipt-reference").textContent = receipt.id;
    $("sp-receipt-date").textContent = when(receipt.created_at);
    var list = $("sp-receipt-vouchers");
    list.textContent = "";
    receipt.vouchers.forEach(function (voucher) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.textContent = "Voucher ••••" + voucher.code_last4 + ": paid " + money(voucher.amount);
      item.appendChild(name);
      if (voucher.balance != null) {
        var left = document.createElement("span");
        left.className = "left";
        left.textContent = money(voucher.balance) + " left on it";
        item.appendChild(left);
      }
      list.appendChild(item);
    });
    show("sp-receipt", true);
    resize();
    $("sp-receipt-title").focus();
  }

  function confirm(body, button) {
    if (busy) return;
    button.disabled = true;
    body.confirm_token = d.confirmToken;
    announce("Paying…");
    run(api("confirm", body), "confirm").then(function (data) {
      if (!data) {
        button.disabled = false;
        return;
      }
      receiptShow(data.receipt);
      announce("Payment complete. You paid " + money(data.receipt.amount) + ".");
      var payment = data.payment;
      post({
        type: "success",
        payment: { id: payment.id, order_id: payment.order_id, amount: payment.amount, currency: payment.currency }
      });
    });
  }

  function cancel() {
    if (d.state === "open" && !paid) api("release").catch(function () {});
    post({ type: paid ? "done" : "cancel" });
  }

  function useAnother() {
    show("sp-remembered", false);
    show("sp-entry", true);
    $("sp-code").focus();
    resize();
  }

  function focusable() {
    return Array.prototype.filter.call(main.querySelectorAll("button, input, [tabindex='0']"), function (node) {
      return !node.disabled && node.getClientRects().length > 0;
    });
  }

  // Where focus belongs: the step's heading or first control ("last": coming back by Shift+Tab).
  function focusStart(where) {
    if (where === "last") {
      var all = focusable();
      if (all.length) all[all.length - 1].focus();
      return;
    }
    var first = !$("sp-receipt").hidden ? $("sp-receipt-title")
      : !$("sp-problem").hidden ? ($("sp-restart").hidden ? $("sp-close") : $("sp-restart"))
      : $("sp-remembered") && !$("sp-remembered").hidden && $("sp-pay-remembered") ? $("sp-pay-remembered")
      : $("sp-code");
    if (first) first.focus();
  }

  fillTotals();
  if ($("sp-add")) {
    var initial = $("sp-plan-data");
    if (initial) render(JSON.parse(initial.textContent));
    $("sp-add").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("sp-code");
      var code = input.value.trim();
      if (!code) { codeError("Enter a voucher code."); input.focus(); resize(); return; }
      if (busy) return;
      run(api("vouchers", { code: code }), "add").then(function (plan) {
        if (!plan) return;
        // Cleared unless the shopper has started typing the next code meanwhile.
        if (input.value.trim() === code) input.value = "";
        render(plan);
        var added = plan.vouchers[plan.vouchers.length - 1];
        announce((added ? "Voucher ••••" + added.code_last4 + " added. " : "") + summary(plan));
        // Covered: the next step is paying; otherwise the next voucher's code.
        ($("sp-pay").disabled ? input : $("sp-pay")).focus();
      });
    });
    $("sp-pay").addEventListener("click", function () {
      confirm({ remember: $("sp-remember").checked }, $("sp-pay"));
    });
  }
  if ($("sp-pay-remembered")) {
    $("sp-pay-remembered").addEventListener("click", function () {
      confirm({ use_remembered: true }, $("sp-pay-remembered"));
    });
  }
  if ($("sp-other")) $("sp-other").addEventListener("click", useAnother);
  if ($("sp-forget")) {
    $("sp-forget").addEventListener("click", function () {
      run(api("forget"), "forget").then(function (done) { if (done) useAnother(); });
    });
  }
  $("sp-cancel").addEventListener("click", cancel);
  $("sp-close").addEventListener("click", cancel);
  $("sp-done-button").addEventListener("click", cancel);
  $("sp-restart").addEventListener("click", function () { post({ type: "restart" }); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); cancel(); }
  });
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== parentOrigin || !event.data) return;
    if (event.data.type === "focus") {
      // The widget moved focus into this frame (it opened, or Shift+Tab wrapped around).
      focusStart(event.data.where);
    } else if (event.data.type === "close" && d.state === "open" && !paid) {
      // The widget closed the dialog itself (its close button, Escape on the page).
      api("release").catch(function () {});
    }
  });
  window.addEventListener("load", resize);
  var receipt = $("sp-receipt-data");
  if (receipt) receiptShow(JSON.parse(receipt.textContent));
  post({ type: "ready", state: d.state, payment: d.payment || null });
  resize();
  focusStart();
})();
