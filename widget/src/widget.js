/*! SuperPayment widget: pay with a voucher. No dependencies. */
(function (window, document) {
  "use strict";

  var PREFIX = "superpayment:";
  var KEY = /^pk_(test|live)_[0-9A-Za-z]{32}$/;
  var AMOUNT = /^\d+(\.\d+)?$/;
  var CSS =
    ":host{all:initial;display:inline-block}" +
    "button{font:600 15px/1.2 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;cursor:pointer;" +
    "border:0;border-radius:8px;padding:12px 18px;background:#3b4cca;color:#fff;min-height:44px}" +
    "button:hover{background:#2f3da8}button:focus-visible{outline:3px solid #9aa5f5;outline-offset:2px}" +
    ".dark button{background:#fff;color:#1a1f36}" +
    "button.paid,button.paid:hover{background:#e7f6ec;color:#05603a;cursor:default;box-shadow:inset 0 0 0 2px #75c69a}" +
    ".err{font:14px/1.4 system-ui,sans-serif;color:#b42318;background:#fef3f2;border-radius:6px;padding:8px 10px;display:inline-block}";
  var MODAL_CSS =
    ":host{all:initial}" +
    "dialog{padding:0;border:0;border-radius:12px;width:min(440px,calc(100vw - 24px));max-width:none;" +
    "max-height:calc(100vh - 24px);overflow:auto;box-shadow:0 12px 40px rgba(0,0,0,.3);background:#fff;" +
    "color:#1a1f36;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    "dialog::backdrop{background:rgba(16,20,40,.55)}[hidden]{display:none!important}" +
    "iframe{display:block;border:0;width:100%;height:420px}" +
    ".x{position:absolute;top:8px;right:8px;border:0;background:none;font-size:22px;line-height:1;" +
    "cursor:pointer;padding:6px 10px;border-radius:6px;color:#5b6478;min-width:44px;min-height:44px}" +
    "button:focus-visible{outline:3px solid #9aa5f5;outline-offset:2px}" +
    ".msg{margin:0;padding:28px 56px 28px 22px}.err{padding:28px 22px 22px}" +
    "h2{font-size:1.2rem;margin:0 40px 8px 0}h2:focus{outline:0}p{margin:0 0 18px}" +
    ".acts{display:flex;flex-wrap:wrap;gap:10px}.acts button{font:inherit;font-weight:600;" +
    "border-radius:6px;padding:10px 16px;min-height:44px;cursor:pointer;border:1px solid #d8dce6;" +
    "background:#fff;color:#1a1f36}.acts button:first-child{background:#3b4cca;color:#fff;border-color:#3b4cca}";
  // What a shopper reads when the checkout cannot start; the developer's detail goes to the
  // console and the superpayment:error event, never into the dialog.
  var SETUP = "This shop's checkout is not set up correctly. Please contact the shop. No voucher was charged.";
  var PROBLEMS = {
    setup: ["Voucher payment isn't available", SETUP],
    closed: ["Voucher payment isn't available", "This shop can't take voucher payments at the moment. Please try again later."],
    paid: ["This order is already paid", "Nothing more to pay here. No voucher was charged."],
    expired: ["This checkout has expired", "Reload the page to start again. No voucher was charged.", "Reload page"],
    busy: ["Too many attempts", "Please wait a minute, then try again.", "Try again"],
    offline: ["We couldn't reach the payment service", "Check your connection and try again.", "Try again"]
  };
  var PROBLEM_OF = {
    merchant_suspended: "closed",
    order_already_paid: "paid",
    checkout_session_completed: "paid",
    checkout_session_expired: "expired",
    checkout_session_not_found: "expired",
    signature_expired: "expired",
    rate_limited: "busy",
    too_many_requests: "busy",
    network_error: "offline",
    server_error: "offline"
  };

  var loaderScript = document.currentScript;
  var loaderBase = origin(loaderScript && loaderScript.src);
  var open = null;

  function origin(url) {
    try {
      return new URL(url, window.location.href).origin;
    } catch (e) {
      return "";
    }
  }

  function emit(el, name, detail) {
    el.dispatchEvent(
      new CustomEvent(PREFIX + name, { bubbles: true, composed: true, detail: detail || {} })
    );
  }

  function formatAmount(amount, currency, locale) {
    try {
      return new Intl.NumberFormat(locale || undefined, {
        style: "currency",
        currency: currency
      }).format(amount);
    } catch (e) {
      return amount + (currency ? " " + currency : "");
    }
  }

  // Read and check the tag's attributes; returns {error, attribute} or the options.
  function readOptions(el, overrides) {
    var o = {};
    var names = [
      "api-key", "amount", "order-id", "currency", "locale", "success-url", "cancel-url",
      "session", "signature", "expires-at", "button-text", "theme"
    ];
    names.forEach(function (name) {
      var camel = name.replace(/-(\w)/g, function (m, c) { return c.toUpperCase(); });
      var value = overrides && overrides[camel] != null ? overrides[camel] : el.getAttribute("data-" + name);
      o[camel] = value == null ? "" : String(value).trim();
    });
    function bad(attribute, message) {
      return { error: message, attribute: "data-" + attribute };
    }
    if (/^sk_/.test(o.apiKey)) return bad("api-key", "a secret key must never be in a web page; use your publishable key (pk_...) and roll the secret key now");
    if (!KEY.test(o.apiKey)) return bad("api-key", "missing or not a publishable key (pk_test_... or pk_live_...)");
    if (!o.session) {
      if (!AMOUNT.test(o.amount)) return bad("amount", "missing or not an amount such as 99.00");
      if (!o.orderId) return bad("order-id", "missing: give the order this payment is for");
    }
    if (o.currency && !/^[A-Za-z]{3}$/.test(o.currency)) return bad("currency", "not an ISO 4217 code such as EUR");
    if (o.signature && !/^\d+$/.test(o.expiresAt)) return bad("expires-at", "a signed tag needs data-expires-at (Unix seconds)");
    o.currency = o.currency.toUpperCase();
    return o;
  }

  function buttonLabel(o) {
    if (o.buttonText) return o.buttonText;
    if (o.amount && o.currency) return "Pay " + formatAmount(o.amount, o.currency, o.locale) + " with a voucher";
    return "Pay with a voucher";
  }

  function mount(el, overrides) {
    if (!el || el.__superpayment) return el && el.__superpayment;
    var base = (el.src && origin(el.src)) || loaderBase;
    var host = document.createElement("span");
    host.className = "superpayment-button";
    if (el.tagName === "SCRIPT") el.parentNode.insertBefore(host, el.nextSibling);
    else el.appendChild(host);
    var root = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
    var o = readOptions(el, overrides);
    var widget = { element: el, host: host };
    el.__superpayment = widget;
    if (o.error) {
      var box = document.createElement("span");
      box.className = "err";
      box.setAttribute("role", "alert");
      box.textContent = "Voucher payment is unavailable on this page.";
      root.appendChild(box);
      if (window.console) console.error("SuperPayment: " + o.attribute + " " + o.error + ".");
      emit(el, "error", { code: "attribute_invalid", attribute: o.attribute, message: o.error });
      return widget;
    }
    var wrap = document.createElement("span");
    if (o.theme === "dark") wrap.className = "dark";
    var button = document.createElement("button");
    button.type = "button";
    button.setAttribute("part", "button");
    button.textContent = buttonLabel(o);
    button.addEventListener("click", function () {
      // Paid: aria-disabled rather than disabled, so focus can come back to it after the dialog.
      if (button.getAttribute("aria-disabled") !== "true") start(el, o, base, button);
    });
    wrap.appendChild(button);
    root.appendChild(wrap);
    widget.button = button;
    emit(el, "ready", { orderId: o.orderId || null, session: o.session || null });
    return widget;
  }

  function start(el, o, base, button) {
    if (open) return;
    sessionOpen(openModal(el, o, base, button));
  }

  // Open (or re-open, after "Start again") the checkout session and load its frame.
  function sessionOpen(modal) {
    var o = modal.o;
    modal.session = null;
    modal.iframe.hidden = true;
    modal.problem.hidden = true;
    modal.status.hidden = false;
    // What had focus (a retry button, the old frame) is gone: the dialog's close button has it.
    modal.closer.focus();
    var body = {
      api_key: o.apiKey,
      amount: o.amount,
      currency: o.currency,
      order_id: o.orderId,
      session: o.session,
      signature: o.signature,
      expires_at: o.expiresAt,
      success_url: o.successUrl,
      cancel_url: o.cancelUrl
    };
    fetch(modal.base + "/checkout/widget/sessions", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify(body),
      credentials: "omit"
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok && data.frame_url) return data;
          var error = (data && data.error) || {};
          error.status = response.status;
          throw error;
        });
      })
      .then(function (session) {
        if (open !== modal) return;
        modal.session = session;
        modal.iframe.src = session.frame_url + (o.locale ? "?locale=" + encodeURIComponent(o.locale) : "");
        modal.status.hidden = true;
        modal.iframe.hidden = false;
      })
      .catch(function (error) {
        if (open !== modal) return;
        var code = error.code || (error.status ? "server_error" : "network_error");
        var kind = error.status === 429 ? "busy" : error.status >= 500 ? "offline" : PROBLEM_OF[code] || "setup";
        if (window.console) console.error("SuperPayment: " + code + ": " + (error.message || error));
        problemShow(modal, kind);
        emit(modal.el, "error", { code: code, message: error.message || "The payment could not start." });
      });
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  // The dialog's own error state: what happened, and a way forward.
  function problemShow(modal, kind) {
    var words = PROBLEMS[kind];
    var box = modal.problem;
    box.textContent = "";
    var title = el("h2", words[0]);
    title.id = "sp-problem-title";
    title.tabIndex = -1;
    var acts = el("div", "", "acts");
    if (words[2]) {
      var again = el("button", words[2]);
      again.type = "button";
      again.addEventListener("click", function () {
        if (kind === "expired") window.location.reload();
        else sessionOpen(modal);
      });
      acts.appendChild(again);
    }
    var close = el("button", "Close");
    close.type = "button";
    close.addEventListener("click", function () { finish(modal, "cancel"); });
    acts.appendChild(close);
    var text = el("p", words[1]);
    text.setAttribute("role", "alert");
    box.appendChild(title);
    box.appendChild(text);
    box.appendChild(acts);
    modal.status.hidden = true;
    modal.iframe.hidden = true;
    box.hidden = false;
    acts.firstChild.focus();
  }

  function openModal(widgetEl, o, base, button) {
    var host = document.createElement("div");
    var root = host.attachShadow({ mode: "open" });
    var style = el("style", MODAL_CSS);
    var dialog = el("dialog");
    dialog.setAttribute("aria-label", "Pay with a voucher");
    // Focus guards: Tab past the frame's last control wraps to the close button, Shift+Tab
    // before the close button wraps into the frame's last control.
    var first = el("span");
    var last = el("span");
    first.tabIndex = last.tabIndex = 0;
    var close = el("button", "\u00d7", "x");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    var status = el("p", "Loading\u2026", "msg");
    status.setAttribute("role", "status");
    var problem = el("div", "", "err");
    problem.hidden = true;
    problem.setAttribute("aria-labelledby", "sp-problem-title");
    var iframe = el("iframe");
    iframe.title = "SuperPayment: pay with a voucher";
    iframe.hidden = true;
    iframe.setAttribute("allow", "");
    [first, close, status, problem, iframe, last].forEach(function (node) { dialog.appendChild(node); });
    root.appendChild(style);
    root.appendChild(dialog);
    document.body.appendChild(host);

    var modal = {
      el: widgetEl, o: o, base: base, button: button, host: host, dialog: dialog, iframe: iframe,
      status: status, problem: problem, closer: close, paid: null
    };
    modal.frameFocus = function (where) {
      if (iframe.hidden) return false;
      iframe.focus();
      if (modal.session) iframe.contentWindow.postMessage({ type: "focus", where: where }, base);
      return true;
    };
    first.addEventListener("focus", function () {
      if (!modal.frameFocus("last")) {
        var buttons = problem.hidden ? [close] : problem.querySelectorAll("button");
        buttons[buttons.length - 1].focus();
      }
    });
    last.addEventListener("focus", function () { close.focus(); });
    dialog.addEventListener("cancel", function (event) {
      event.preventDefault();
      finish(modal, "cancel");
    });
    close.addEventListener("click", function () { finish(modal, "cancel"); });
    dialog.addEventListener("click", function (event) {
      var r = dialog.getBoundingClientRect();
      var inside = event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
      if (event.target === dialog && !inside) finish(modal, "cancel");
    });
    open = modal;
    dialog.showModal();
    return modal;
  }

  function paidMark(button) {
    button.textContent = "Paid \u2713";
    button.setAttribute("aria-disabled", "true");
    button.className = "paid";
  }

  function finish(modal, outcome) {
    if (open !== modal) return;
    open = null;
    // Closing the receipt is the end of a payment, not a cancel.
    if (modal.paid) outcome = "success";
    if (outcome === "cancel" && modal.session && modal.iframe.contentWindow) {
      modal.iframe.contentWindow.postMessage({ type: "close" }, modal.base);
    }
    modal.dialog.close();
    // Focus leaves the frame before the frame goes: a key whose press closed the dialog from
    // inside the frame (Enter on Done, Escape) must not have its release sent to a removed frame.
    if (modal.button) modal.button.focus();
    setTimeout(function () { modal.host.parentNode.removeChild(modal.host); }, 0);
    if (outcome === "cancel") emit(modal.el, "cancel", { orderId: modal.o.orderId || null });
    var url = outcome === "success" ? modal.o.successUrl : modal.o.cancelUrl;
    if (url) {
      var sep = url.indexOf("?") < 0 ? "?" : "&";
      window.location.assign(
        outcome === "success" ? url + sep + "payment=" + encodeURIComponent(modal.paid.paymentId) : url
      );
    }
  }

  window.addEventListener("message", function (event) {
    var modal = open;
    if (!modal || event.origin !== modal.base || event.source !== modal.iframe.contentWindow) return;
    var m = event.data || {};
    if (m.source !== "superpayment" || !modal.session || m.session !== modal.session.id) return;
    if (m.type === "ready") {
      modal.frameFocus("start");
    } else if (m.type === "resize" && m.height > 0) {
      modal.iframe.style.height = Math.min(m.height, window.innerHeight - 24) + "px";
    } else if (m.type === "success" && m.payment && !modal.paid) {
      // The frame shows the receipt; the dialog stays until the shopper closes it.
      modal.paid = {
        paymentId: m.payment.id,
        orderId: m.payment.order_id,
        amount: m.payment.amount,
        currency: m.payment.currency
      };
      paidMark(modal.button);
      emit(modal.el, "success", modal.paid);
    } else if (m.type === "done" || m.type === "cancel") {
      finish(modal, "cancel");
    } else if (m.type === "restart") {
      sessionOpen(modal);
    } else if (m.type === "error") {
      emit(modal.el, "error", { code: m.code, message: m.message });
    }
  });

  var api = window.SuperPayment;
  if (!api) {
    api = window.SuperPayment = {
      version: "1",
      // Mount a widget: on a script or any element carrying the data-* attributes (options,
      // in camelCase, override them); with no argument, on every such script not mounted yet.
      mount: function (el, options) {
        if (el) return mount(el, options);
        var scripts = document.querySelectorAll("script[data-api-key]");
        for (var i = 0; i < scripts.length; i++) mount(scripts[i]);
      }
    };
  }
  if (loaderScript && loaderScript.hasAttribute("data-api-key")) api.mount(loaderScript);
})(window, document);
