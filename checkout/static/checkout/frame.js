/* SuperPayment payment frame. Runs on the platform's origin inside the widget's modal; talks to
   the shop's page only by postMessage to the exact origin the session was opened on. */
(function () {
  "use strict";
  var main = document.getElementById("sp-frame");
  var d = main.dataset;
  var exponent = parseInt(d.exponent, 10);
  var parentOrigin = d.parentOrigin;
  var busy = false;
  var formatter;
  try {
    formatter = new Intl.NumberFormat(d.locale || undefined, { style: "currency", currency: d.currency });
  } catch (e) {
    formatter = new Intl.NumberFormat(undefined, { style: "currency", currency: d.currency });
  }

  function money(minor) {
    var text = (minor / Math.pow(10, exponent)).toFixed(exponent);
    return formatter.format(text);
  }
  function $(id) { return document.getElementById(id); }

  function post(message) {
    if (window.parent === window || !parentOrigin) return;
    message.source = "superpayment";
    message.session = d.session;
    window.parent.postMessage(message, parentOrigin);
  }
  function resize() {
    post({ type: "resize", height: Math.ceil(document.documentElement.scrollHeight) });
  }
  function fillTotals(root) {
    var spans = (root || document).querySelectorAll(".total[data-minor]");
    for (var i = 0; i < spans.length; i++) spans[i].textContent = money(parseInt(spans[i].dataset.minor, 10));
  }
  function alertShow(message) {
    var box = $("sp-alert");
    box.textContent = message || "";
    box.hidden = !message;
    resize();
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
          var failure = new Error(error.message || "Something went wrong; try again.");
          failure.code = error.code;
          throw failure;
        }
        return data;
      });
    });
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
        run(api("vouchers/" + encodeURIComponent(voucher.id) + "/remove").then(render));
      });
      item.appendChild(text);
      item.appendChild(remove);
      list.appendChild(item);
    });
    var covered = plan.vouchers.length > 0 && plan.remaining === 0;
    $("sp-remaining").textContent = plan.vouchers.length === 0 ? "" :
      covered ? "Your vouchers cover the full amount." : "Still to pay: " + money(plan.remaining) + ". Add another voucher.";
    $("sp-pay").disabled = !covered;
    resize();
  }

  function run(promise) {
    busy = true;
    alertShow("");
    return promise.then(function (value) { busy = false; return value; }, function (error) {
      busy = false;
      alertShow(error.message);
      post({ type: "error", code: error.code || "error", message: error.message });
    });
  }

  function paid(data) {
    var payment = data.payment;
    ["sp-entry", "sp-remembered"].forEach(function (id) { if ($(id)) $(id).hidden = true; });
    var done = document.createElement("p");
    done.className = "done";
    done.id = "sp-done";
    done.textContent = "Paid " + money(payment.amount) + ". Thank you!";
    main.insertBefore(done, $("sp-alert").nextSibling);
    resize();
    post({
      type: "success",
      payment: { id: payment.id, order_id: payment.order_id, amount: payment.amount, currency: payment.currency }
    });
  }

  function confirm(body, button) {
    if (busy) return;
    button.disabled = true;
    body.confirm_token = d.confirmToken;
    run(api("confirm", body).then(paid)).then(function () {
      if (!$("sp-done")) button.disabled = false;
    });
  }

  function cancel() {
    if (d.state === "open") api("release").catch(function () {});
    post({ type: "cancel" });
  }

  fillTotals();
  if ($("sp-add")) {
    var initial = document.getElementById("sp-plan-data");
    if (initial) render(JSON.parse(initial.textContent));
    $("sp-add").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("sp-code");
      var code = input.value.trim();
      if (!code) { alertShow("Enter a voucher code."); input.focus(); return; }
      if (busy) return;
      run(api("vouchers", { code: code }).then(function (plan) { input.value = ""; render(plan); }));
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
  if ($("sp-other")) {
    $("sp-other").addEventListener("click", function () {
      $("sp-remembered").hidden = true;
      $("sp-entry").hidden = false;
      $("sp-code").focus();
      resize();
    });
  }
  if ($("sp-forget")) {
    $("sp-forget").addEventListener("click", function () {
      run(api("forget").then(function () {
        $("sp-remembered").hidden = true;
        $("sp-entry").hidden = false;
        $("sp-code").focus();
        resize();
      }));
    });
  }
  $("sp-cancel").addEventListener("click", cancel);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); cancel(); }
  });
  window.addEventListener("message", function (event) {
    // The widget closed the dialog itself (its close button, Escape on the page).
    if (event.source === window.parent && event.origin === parentOrigin &&
        event.data && event.data.type === "close" && d.state === "open" && !$("sp-done")) {
      api("release").catch(function () {});
    }
  });
  window.addEventListener("load", resize);
  post({ type: "ready", state: d.state, payment: d.payment || null });
  resize();
  var first = $("sp-pay-remembered") || $("sp-code");
  if (first) first.focus();
})();
