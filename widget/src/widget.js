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
    ".err{font:14px/1.4 system-ui,sans-serif;color:#b42318;background:#fef3f2;border-radius:6px;padding:8px 10px;display:inline-block}";
  var MODAL_CSS =
    ":host{all:initial}" +
    ".back{position:fixed;inset:0;background:rgba(16,20,40,.55);display:flex;align-items:center;" +
    "justify-content:center;z-index:2147483647;font:15px system-ui,sans-serif}" +
    ".box{position:relative;background:#fff;border-radius:12px;width:min(440px,94vw);max-height:92vh;" +
    "overflow:auto;box-shadow:0 12px 40px rgba(0,0,0,.3)}" +
    "iframe{display:block;border:0;width:100%;height:420px}" +
    ".x{position:absolute;top:8px;right:8px;border:0;background:none;font-size:22px;line-height:1;" +
    "cursor:pointer;padding:6px 10px;border-radius:6px;color:#5b6478}" +
    ".x:focus-visible{outline:3px solid #9aa5f5}" +
    ".msg{padding:28px 22px;color:#1a1f36}.msg.bad{color:#b42318}";

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
      start(el, o, base, button);
    });
    wrap.appendChild(button);
    root.appendChild(wrap);
    widget.button = button;
    emit(el, "ready", { orderId: o.orderId || null, session: o.session || null });
    return widget;
  }

  function start(el, o, base, button) {
    if (open) return;
    var modal = openModal(el, o, base, button);
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
    fetch(base + "/checkout/widget/sessions", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify(body),
      credentials: "omit"
    })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw (data && data.error) || { message: "The payment could not start." };
          return data;
        });
      })
      .then(function (session) {
        if (open !== modal) return;
        modal.session = session;
        var src = session.frame_url + (o.locale ? "?locale=" + encodeURIComponent(o.locale) : "");
        modal.iframe.src = src;
        modal.status.hidden = true;
        modal.iframe.hidden = false;
      })
      .catch(function (error) {
        if (open !== modal) return;
        var message = error.message || "The payment could not start.";
        modal.status.className = "msg bad";
        modal.status.textContent = message;
        if (window.console) console.error("SuperPayment: " + message);
        emit(el, "error", { code: error.code || "network_error", message: message });
      });
  }

  function openModal(el, o, base, button) {
    var host = document.createElement("div");
    var root = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = MODAL_CSS;
    var back = document.createElement("div");
    back.className = "back";
    var box = document.createElement("div");
    box.className = "box";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-label", "Pay with a voucher");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "x";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    var status = document.createElement("p");
    status.className = "msg";
    status.setAttribute("role", "status");
    status.textContent = "Loading\u2026";
    var iframe = document.createElement("iframe");
    iframe.title = "SuperPayment: pay with a voucher";
    iframe.hidden = true;
    iframe.setAttribute("allow", "");
    box.appendChild(close);
    box.appendChild(status);
    box.appendChild(iframe);
    back.appendChild(box);
    root.appendChild(style);
    root.appendChild(back);
    document.body.appendChild(host);

    var modal = {
      el: el, o: o, base: base, button: button, host: host, iframe: iframe, status: status
    };
    function onKey(event) {
      if (event.key === "Escape") {
        event.preventDefault();
        finish(modal, "cancel");
      } else if (event.key === "Tab") {
        // Focus trap: the close button and the frame are the dialog's only stops.
        var active = root.activeElement;
        var target = active === close ? (iframe.hidden ? close : iframe) : close;
        event.preventDefault();
        target.focus();
      }
    }
    modal.onKey = onKey;
    document.addEventListener("keydown", onKey, true);
    close.addEventListener("click", function () {
      finish(modal, "cancel");
    });
    back.addEventListener("click", function (event) {
      if (event.target === back) finish(modal, "cancel");
    });
    open = modal;
    close.focus();
    return modal;
  }

  function finish(modal, outcome, detail) {
    if (open !== modal) return;
    open = null;
    document.removeEventListener("keydown", modal.onKey, true);
    if (outcome === "cancel" && modal.session && modal.iframe.contentWindow) {
      modal.iframe.contentWindow.postMessage({ type: "close" }, modal.base);
    }
    modal.host.parentNode.removeChild(modal.host);
    if (modal.button) modal.button.focus();
    var url = outcome === "success" ? modal.o.successUrl : modal.o.cancelUrl;
    if (outcome === "success") {
      modal.button.disabled = true;
      emit(modal.el, "success", detail);
    } else {
      emit(modal.el, "cancel", { orderId: modal.o.orderId || null });
    }
    if (url) {
      var sep = url.indexOf("?") < 0 ? "?" : "&";
      window.location.assign(
        outcome === "success" ? url + sep + "payment=" + encodeURIComponent(detail.paymentId) : url
      );
    }
  }

  window.addEventListener("message", function (event) {
    var modal = open;
    if (!modal || event.origin !== modal.base || event.source !== modal.iframe.contentWindow) return;
    var m = event.data || {};
    if (m.source !== "superpayment" || !modal.session || m.session !== modal.session.id) return;
    if (m.type === "ready") {
      modal.iframe.focus();
    } else if (m.type === "resize" && m.height > 0) {
      modal.iframe.style.height = Math.min(m.height, window.innerHeight * 0.9) + "px";
    } else if (m.type === "success" && m.payment) {
      finish(modal, "success", {
        paymentId: m.payment.id,
        orderId: m.payment.order_id,
        amount: m.payment.amount,
        currency: m.payment.currency
      });
    } else if (m.type === "cancel") {
      finish(modal, "cancel");
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
