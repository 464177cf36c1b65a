/*
 * cs-console web chat widget (served at /widget.js; the HTTP contract is the widget API).
 *
 * Embed: <script src="https://cs.example.com/widget.js" data-shop="SHOP"
 *          [data-lang="en|zh-CN|vi|es"] [data-identity="PAYLOAD.SIGNATURE"]
 *          [data-lang-from-query="lang"] async></script>
 * data-lang-from-query names a query parameter of the page (e.g. ?lang=en) that, when it
 * holds one of the four languages, wins over data-lang (the demo shop page uses it).
 *
 * SECURITY: every string that comes from a customer, an agent or the server is put into
 * the DOM with textContent / createTextNode / attribute setters only. This file never uses
 * innerHTML, outerHTML, insertAdjacentHTML or document.write, never eval or new Function,
 * and makes links only to blob: URLs it created itself (non-image files are wrapped as
 * application/octet-stream with a download attribute, so a blob is never rendered as a
 * page in the shop's origin). No cookies: the session is a bearer token in localStorage,
 * sent in the Authorization header (credentials: "omit"), so another site cannot ride it.
 * Keep it that way.
 */
(function () {
  "use strict";

  // Captured now: document.currentScript is null once this first run is over.
  var SCRIPT =
    document.currentScript ||
    document.querySelector('script[src*="/widget.js"][data-shop]');
  if (!SCRIPT || !SCRIPT.src) return;
  if (window.__csChatWidgetLoaded) return; // the tag pasted twice: one widget only
  window.__csChatWidgetLoaded = true;

  var API = new URL(SCRIPT.src, document.baseURI).origin;
  var SHOP = SCRIPT.getAttribute("data-shop") || "default";
  var IDENTITY = SCRIPT.getAttribute("data-identity") || null;
  var LANGS = ["zh-CN", "en", "vi", "es"];
  var IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"];
  var STORE_KEY = "cs-widget:" + API + ":" + SHOP;
  var TYPING_EVERY_MS = 3000;
  var LONG_POLL_S = 25;
  var SEND_TRIES = 4;

  // --- strings -------------------------------------------------------------------------

  var STRINGS = {
    "zh-CN": {
      launcher: "在线客服",
      close: "关闭聊天窗口",
      agentHere: "连线客服：{agent}",
      noAgent: "我们通常几分钟内回复",
      offlineStatus: "客服不在线",
      welcome: "您好！请问有什么可以帮您？",
      log: "聊天记录",
      placeholder: "请输入消息…",
      send: "发送",
      attach: "图片",
      you: "我",
      staff: "客服",
      sending: "发送中…",
      failed: "发送失败，点击重试",
      checking: "正在检查您的浏览器…",
      connecting: "正在连接…",
      reconnecting: "连接中断，正在重试…",
      offlineIntro: "客服下线了，请留言，我们上线后第一时间回复您",
      hours: "服务时间：{hours}（{tz}）",
      name: "您的称呼",
      email: "邮箱",
      message: "留言内容",
      leave: "提交留言",
      thanks: "已收到您的留言，我们上线后会第一时间回复到 {email}。",
      tooLarge: "图片太大了（最大 {size}）",
      notImage: "只能发送图片（JPEG、PNG、GIF、WebP）",
      tooLong: "消息太长了（最多 {n} 字）",
      slowDown: "发送太频繁，请稍候再试",
      error: "出了点问题，请稍后再试",
      unread: "{n} 条未读消息",
      image: "图片",
      fileFailed: "文件加载失败",
    },
    en: {
      launcher: "Chat with us",
      close: "Close chat",
      agentHere: "{agent} is here to help",
      noAgent: "We usually reply within a few minutes",
      offlineStatus: "We're offline",
      welcome: "Hi! How can we help you today?",
      log: "Conversation",
      placeholder: "Type a message…",
      send: "Send",
      attach: "Send a picture",
      you: "You",
      staff: "Customer service",
      sending: "Sending…",
      failed: "Not sent. Click to retry.",
      checking: "Checking your browser…",
      connecting: "Connecting…",
      reconnecting: "Connection lost, retrying…",
      offlineIntro: "We're offline right now. Leave us a message and we'll reply as soon as we're back.",
      hours: "Service hours: {hours} ({tz})",
      name: "Your name",
      email: "Email",
      message: "Message",
      leave: "Leave a message",
      thanks: "Thanks! We'll reply to {email} as soon as we're back.",
      tooLarge: "That picture is too large (at most {size}).",
      notImage: "Only pictures can be sent (JPEG, PNG, GIF, WebP).",
      tooLong: "That message is too long (at most {n} characters).",
      slowDown: "You're sending too fast. Please wait a moment.",
      error: "Something went wrong. Please try again.",
      unread: "{n} unread messages",
      image: "Picture",
      fileFailed: "Could not load the file",
    },
    vi: {
      launcher: "Chat với chúng tôi",
      close: "Đóng cửa sổ chat",
      agentHere: "{agent} sẵn sàng hỗ trợ bạn",
      noAgent: "Chúng tôi thường trả lời trong vài phút",
      offlineStatus: "Chúng tôi đang ngoại tuyến",
      welcome: "Xin chào! Chúng tôi có thể giúp gì cho bạn?",
      log: "Cuộc trò chuyện",
      placeholder: "Nhập tin nhắn…",
      send: "Gửi",
      attach: "Gửi ảnh",
      you: "Bạn",
      staff: "Nhân viên hỗ trợ",
      sending: "Đang gửi…",
      failed: "Chưa gửi được. Nhấn để thử lại.",
      checking: "Đang kiểm tra trình duyệt của bạn…",
      connecting: "Đang kết nối…",
      reconnecting: "Mất kết nối, đang thử lại…",
      offlineIntro: "Hiện chúng tôi đang ngoại tuyến. Bạn hãy để lại lời nhắn, chúng tôi sẽ trả lời ngay khi trực tuyến trở lại.",
      hours: "Giờ hỗ trợ: {hours} ({tz})",
      name: "Tên của bạn",
      email: "Email",
      message: "Lời nhắn",
      leave: "Gửi lời nhắn",
      thanks: "Cảm ơn bạn! Chúng tôi sẽ trả lời qua {email} ngay khi trực tuyến trở lại.",
      tooLarge: "Ảnh quá lớn (tối đa {size}).",
      notImage: "Chỉ có thể gửi ảnh (JPEG, PNG, GIF, WebP).",
      tooLong: "Tin nhắn quá dài (tối đa {n} ký tự).",
      slowDown: "Bạn gửi quá nhanh, vui lòng đợi một chút.",
      error: "Đã có lỗi xảy ra, vui lòng thử lại.",
      unread: "{n} tin nhắn chưa đọc",
      image: "Hình ảnh",
      fileFailed: "Không tải được tệp",
    },
    es: {
      launcher: "Chatea con nosotros",
      close: "Cerrar el chat",
      agentHere: "{agent} está aquí para ayudarte",
      noAgent: "Solemos responder en pocos minutos",
      offlineStatus: "Ahora no estamos conectados",
      welcome: "¡Hola! ¿En qué podemos ayudarte?",
      log: "Conversación",
      placeholder: "Escribe un mensaje…",
      send: "Enviar",
      attach: "Enviar una imagen",
      you: "Tú",
      staff: "Atención al cliente",
      sending: "Enviando…",
      failed: "No se ha enviado. Haz clic para reintentar.",
      checking: "Comprobando tu navegador…",
      connecting: "Conectando…",
      reconnecting: "Se perdió la conexión, reintentando…",
      offlineIntro: "Ahora mismo no estamos conectados. Déjanos un mensaje y te responderemos en cuanto volvamos.",
      hours: "Horario de atención: {hours} ({tz})",
      name: "Tu nombre",
      email: "Correo electrónico",
      message: "Mensaje",
      leave: "Enviar mensaje",
      thanks: "¡Gracias! Te responderemos a {email} en cuanto volvamos.",
      tooLarge: "La imagen es demasiado grande (máximo {size}).",
      notImage: "Solo se pueden enviar imágenes (JPEG, PNG, GIF, WebP).",
      tooLong: "El mensaje es demasiado largo (máximo {n} caracteres).",
      slowDown: "Estás enviando demasiado rápido. Espera un momento.",
      error: "Algo salió mal. Inténtalo de nuevo.",
      unread: "{n} mensajes sin leer",
      image: "Imagen",
      fileFailed: "No se pudo cargar el archivo",
    },
  };

  function mapLanguage(tag) {
    if (!tag) return null;
    var lower = String(tag).toLowerCase();
    for (var i = 0; i < LANGS.length; i++) {
      if (LANGS[i].toLowerCase() === lower) return LANGS[i];
    }
    var base = lower.split(/[-_]/)[0];
    if (base === "zh") return "zh-CN";
    return LANGS.indexOf(base) >= 0 ? base : null;
  }

  function chosenLanguage() {
    var param = SCRIPT.getAttribute("data-lang-from-query");
    if (param) {
      try {
        var fromQuery = mapLanguage(new URLSearchParams(location.search).get(param));
        if (fromQuery) return { lang: fromQuery, explicit: true };
      } catch (err) {
        // an odd location: fall through to data-lang
      }
    }
    var fromData = mapLanguage(SCRIPT.getAttribute("data-lang"));
    if (fromData) return { lang: fromData, explicit: true };
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (var i = 0; i < wanted.length; i++) {
      var mapped = mapLanguage(wanted[i]);
      if (mapped) return { lang: mapped, explicit: true };
    }
    return { lang: "en", explicit: false }; // until the server names its first language
  }

  var picked = chosenLanguage();
  var lang = picked.lang;

  function t(key, values) {
    var text = (STRINGS[lang] || STRINGS.en)[key] || STRINGS.en[key] || key;
    if (values) {
      Object.keys(values).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(values[name]));
      });
    }
    return text;
  }

  // --- small helpers ---------------------------------------------------------------------

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /** Exponential backoff with jitter: ~1 s, 2 s, 4 s ... at most ~30 s. */
  function backoff(attempt) {
    var base = Math.min(30000, 1000 * Math.pow(2, Math.max(0, attempt - 1)));
    return Math.round(base * (0.5 + Math.random()));
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    var out = "w";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function formatBytes(n) {
    if (n >= 1024 * 1024) return Math.round((n / (1024 * 1024)) * 10) / 10 + " MB";
    return Math.max(1, Math.round(n / 1024)) + " KB";
  }

  function storageGet(suffix) {
    try {
      return window.localStorage.getItem(STORE_KEY + suffix);
    } catch (err) {
      return null; // storage blocked (private mode, sandbox): the session lasts the page
    }
  }

  function storageSet(suffix, value) {
    try {
      if (value === null) window.localStorage.removeItem(STORE_KEY + suffix);
      else window.localStorage.setItem(STORE_KEY + suffix, value);
    } catch (err) {
      // see storageGet
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";

  /** A fixed icon: the path data are constants of this file, never data. */
  function icon(pathData) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", pathData);
    svg.appendChild(path);
    return svg;
  }

  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var ICON_CLOSE = "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z";
  var ICON_SEND = "M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z";
  var ICON_IMAGE =
    "M5 4h14a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm0 12.5V18h14v-2.6l-4-4-4.5 4.5-2.5-2.5zM8.5 7A1.5 1.5 0 1 0 8.5 10 1.5 1.5 0 0 0 8.5 7z";

  function formatTime(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return "";
    var now = new Date();
    var sameDay = when.toDateString() === now.toDateString();
    var options = sameDay
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    try {
      return when.toLocaleString(lang, options);
    } catch (err) {
      return when.toISOString().slice(0, 16).replace("T", " ");
    }
  }

  // --- state ---------------------------------------------------------------------------

  var state = {
    token: storageGet(":token"),
    config: null, // the session reply: agent, open, hours, limits, shop name
    session: null, // the promise of the session in progress or done
    generation: 0, // bumped by every new session: older poll loops see it and stop
    lastId: null, // the id of the last message the poll has seen (its "after")
    rendered: {}, // message id -> its element
    urls: [], // blob URLs made for the current list, revoked when it is cleared
    panelOpen: false,
    unread: 0,
    historyLoaded: false,
    lastTypingAt: 0,
    stopped: false,
  };

  // --- the DOM -------------------------------------------------------------------------

  var host = document.createElement("cs-chat-widget");
  // mode "open" so automated browser tests can find the panel; the isolation from the
  // shop's CSS (and of the shop from ours) is the same as with "closed".
  var shadow = host.attachShadow({ mode: "open" });
  var sheet = document.createElement("link");
  sheet.rel = "stylesheet";
  sheet.href = API + "/widget.css";
  shadow.appendChild(sheet);

  var root = el("div", "root");
  root.hidden = true; // until widget.css is in: no flash of an unstyled panel
  root.setAttribute("lang", lang);
  shadow.appendChild(root);
  sheet.addEventListener("load", function () {
    root.hidden = false;
  });
  sheet.addEventListener("error", function () {
    root.hidden = false;
  });

  var panel = el("div", "panel");
  panel.id = "cs-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");

  var header = el("div", "header");
  var titles = el("div", "titles");
  var shopName = el("div", "shop-name");
  var agentLine = el("div", "agent-line");
  titles.appendChild(shopName);
  titles.appendChild(agentLine);
  var closeButton = el("button", "icon-button close");
  closeButton.type = "button";
  closeButton.appendChild(icon(ICON_CLOSE));
  header.appendChild(titles);
  header.appendChild(closeButton);

  var statusLine = el("div", "status");
  statusLine.setAttribute("role", "status");
  statusLine.hidden = true;

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.tabIndex = 0;
  var welcome = el("p", "welcome");
  log.appendChild(welcome);

  var notice = el("div", "notice");
  notice.setAttribute("role", "alert");
  notice.hidden = true;

  var composer = el("form", "composer");
  composer.noValidate = true;
  var fileInput = el("input", "file");
  fileInput.type = "file";
  fileInput.accept = "image/*";
  fileInput.hidden = true;
  var attachButton = el("button", "icon-button attach");
  attachButton.type = "button";
  attachButton.appendChild(icon(ICON_IMAGE));
  var textarea = el("textarea", "input");
  textarea.rows = 1;
  var sendButton = el("button", "icon-button send");
  sendButton.type = "submit";
  sendButton.appendChild(icon(ICON_SEND));
  composer.appendChild(fileInput);
  composer.appendChild(attachButton);
  composer.appendChild(textarea);
  composer.appendChild(sendButton);

  var offline = el("form", "offline");
  offline.hidden = true;
  var offlineIntro = el("p", "offline-intro");
  var offlineHours = el("p", "offline-hours");
  function field(kind, tag) {
    var label = el("label", "field");
    var caption = el("span", "field-caption");
    var input = el(tag, "field-input");
    if (tag === "input") input.type = kind === "email" ? "email" : "text";
    input.name = kind;
    input.required = true;
    if (kind === "email") input.autocomplete = "email";
    if (kind === "name") input.autocomplete = "name";
    if (tag === "textarea") input.rows = 3;
    label.appendChild(caption);
    label.appendChild(input);
    return { label: label, caption: caption, input: input };
  }
  var offlineName = field("name", "input");
  var offlineEmail = field("email", "input");
  var offlineBody = field("message", "textarea");
  var offlineSubmit = el("button", "primary");
  offlineSubmit.type = "submit";
  var offlineThanks = el("p", "offline-thanks");
  offlineThanks.hidden = true;
  offline.appendChild(offlineIntro);
  offline.appendChild(offlineHours);
  offline.appendChild(offlineName.label);
  offline.appendChild(offlineEmail.label);
  offline.appendChild(offlineBody.label);
  offline.appendChild(offlineSubmit);
  offline.appendChild(offlineThanks);

  panel.appendChild(header);
  panel.appendChild(statusLine);
  panel.appendChild(log);
  panel.appendChild(notice);
  panel.appendChild(composer);
  panel.appendChild(offline);

  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "cs-panel");
  launcher.appendChild(icon(ICON_CHAT));
  var launcherText = el("span", "launcher-text");
  launcher.appendChild(launcherText);
  var badge = el("span", "badge");
  badge.hidden = true;
  launcher.appendChild(badge);

  root.appendChild(panel);
  root.appendChild(launcher);

  /** Every fixed label in the current language (again when the language changes). */
  function applyStrings() {
    root.setAttribute("lang", lang);
    panel.setAttribute("aria-label", t("launcher"));
    launcherText.textContent = t("launcher");
    launcher.setAttribute("aria-label", state.unread ? t("launcher") + ", " + t("unread", { n: state.unread }) : t("launcher"));
    closeButton.setAttribute("aria-label", t("close"));
    closeButton.title = t("close");
    log.setAttribute("aria-label", t("log"));
    welcome.textContent = t("welcome");
    textarea.placeholder = t("placeholder");
    textarea.setAttribute("aria-label", t("placeholder"));
    sendButton.setAttribute("aria-label", t("send"));
    sendButton.title = t("send");
    attachButton.setAttribute("aria-label", t("attach"));
    attachButton.title = t("attach");
    offlineIntro.textContent = t("offlineIntro");
    offlineName.caption.textContent = t("name");
    offlineEmail.caption.textContent = t("email");
    offlineBody.caption.textContent = t("message");
    offlineSubmit.textContent = t("leave");
    renderConfig();
  }

  /** The header and the footer as the session (and the poll) last said. */
  function renderConfig() {
    var config = state.config;
    shopName.textContent = config && config.shop_name ? config.shop_name : "";
    if (!config) {
      agentLine.textContent = "";
      return;
    }
    if (!config.open) agentLine.textContent = t("offlineStatus");
    else if (config.agent) agentLine.textContent = t("agentHere", { agent: config.agent });
    else agentLine.textContent = t("noAgent");
    offlineHours.textContent = config.hours
      ? t("hours", { hours: config.hours, tz: config.timezone || "" })
      : "";
    var wasOffline = !offline.hidden;
    composer.hidden = !config.open;
    offline.hidden = !!config.open;
    if (typeof config.max_chars === "number") textarea.maxLength = config.max_chars;
    if (state.panelOpen && wasOffline === !!config.open) focusFirst();
  }

  function showStatus(key) {
    statusLine.textContent = key ? t(key) : "";
    statusLine.hidden = !key;
  }

  var noticeTimer = 0;
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
    clearTimeout(noticeTimer);
    if (text) {
      noticeTimer = setTimeout(function () {
        notice.hidden = true;
      }, 8000);
    }
  }

  function setBadge() {
    badge.textContent = state.unread > 99 ? "99+" : String(state.unread);
    badge.hidden = state.unread === 0;
    launcher.setAttribute(
      "aria-label",
      state.unread ? t("launcher") + ", " + t("unread", { n: state.unread }) : t("launcher")
    );
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  // --- the panel -----------------------------------------------------------------------

  function focusFirst() {
    if (!composer.hidden) textarea.focus();
    else if (!offlineThanks.hidden) offlineSubmit.focus();
    else offlineName.input.focus();
  }

  function openPanel() {
    state.panelOpen = true;
    panel.hidden = false;
    root.classList.add("is-open");
    launcher.setAttribute("aria-expanded", "true");
    state.unread = 0;
    setBadge();
    markSeen();
    ensureSession();
    scrollDown();
    focusFirst();
  }

  function closePanel() {
    state.panelOpen = false;
    panel.hidden = true;
    root.classList.remove("is-open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function markSeen() {
    if (state.lastId) storageSet(":seen", state.lastId);
  }

  launcher.addEventListener("click", function () {
    if (state.panelOpen) closePanel();
    else openPanel();
  });
  closeButton.addEventListener("click", closePanel);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && state.panelOpen) {
      event.stopPropagation();
      closePanel();
    }
  });

  // --- HTTP ----------------------------------------------------------------------------

  function retryAfterMs(response) {
    // Readable cross-origin only if the server lists it in Access-Control-Expose-Headers.
    var value = response.headers.get("retry-after");
    var seconds = value ? parseFloat(value) : NaN;
    return isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 300) * 1000 : 0;
  }

  /**
   * One call to the widget API: resolves {status, data, retryAfter}; rejects only when
   * the network failed (or the call timed out), which is when a send is retried.
   */
  function call(method, path, options) {
    options = options || {};
    var headers = {};
    if (state.token && !options.anonymous) headers.Authorization = "Bearer " + state.token;
    var body = null;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers["Content-Type"] = options.contentType || "application/octet-stream";
      body = options.body;
    }
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, options.timeout || 20000);
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body,
      credentials: "omit",
      cache: "no-store",
      mode: "cors",
      signal: controller.signal,
    })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        var parse = type.indexOf("application/json") === 0 ? response.json() : Promise.resolve(null);
        return parse
          .catch(function () {
            return null;
          })
          .then(function (data) {
            return { status: response.status, data: data, retryAfter: retryAfterMs(response) };
          });
      })
      .finally(function () {
        clearTimeout(timer);
      });
  }

  // --- proof of work -----------------------------------------------------------------------

  function leadingZeroBits(bytes) {
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) {
        bits += 8;
        continue;
      }
      var b = bytes[i];
      while ((b & 0x80) === 0) {
        bits += 1;
        b <<= 1;
      }
      break;
    }
    return bits;
  }

  /** The nonce (decimal) whose sha256(challenge + ":" + nonce) starts with `bits` zeros. */
  async function solveProofOfWork(challenge, bits) {
    if (!window.crypto || !crypto.subtle) throw new Error("no WebCrypto (not a secure page)");
    if (!(bits >= 0 && bits <= 32)) throw new Error("unreasonable difficulty");
    var encoder = new TextEncoder();
    var prefix = String(challenge) + ":";
    var batch = 2000;
    for (var start = 0; start < 0x7fffffff; start += batch) {
      var digests = [];
      for (var i = 0; i < batch; i++) {
        digests.push(crypto.subtle.digest("SHA-256", encoder.encode(prefix + (start + i))));
      }
      var done = await Promise.all(digests);
      for (var j = 0; j < done.length; j++) {
        if (leadingZeroBits(new Uint8Array(done[j])) >= bits) return String(start + j);
      }
      // Yield to the event loop between batches, so the shop's page stays responsive.
      await sleep(0);
    }
    throw new Error("no nonce found");
  }

  // --- the session -------------------------------------------------------------------------

  function ensureSession() {
    if (!state.session) {
      state.session = startSession().catch(function (err) {
        state.session = null; // the next open or send tries again
        throw err;
      });
      state.session.catch(function () {
        // reported in the status line; nothing else to do here
      });
    }
    return state.session;
  }

  async function startSession() {
    var pow = null;
    var attempt = 0;
    showStatus("connecting");
    for (;;) {
      var response;
      try {
        response = await call("POST", "/widget/v1/session", {
          anonymous: true,
          json: { shop: SHOP, language: lang, token: state.token, identity: IDENTITY, pow: pow },
        });
      } catch (err) {
        attempt += 1;
        showStatus("reconnecting");
        await sleep(backoff(attempt));
        continue;
      }
      if (response.status === 200 && response.data && response.data.token) {
        var resumed = !!state.token;
        state.token = response.data.token;
        storageSet(":token", state.token);
        state.config = response.data;
        if (!picked.explicit && Array.isArray(response.data.languages)) {
          var first = mapLanguage(response.data.languages[0]);
          if (first && first !== lang) lang = first;
        }
        showStatus(null);
        applyStrings();
        if (!resumed) clearList();
        state.generation += 1;
        pollLoop(state.generation);
        return state.config;
      }
      if (response.status === 428 && response.data && response.data.challenge) {
        showStatus("checking");
        var nonce = await solveProofOfWork(response.data.challenge, Number(response.data.difficulty));
        pow = { challenge: String(response.data.challenge), nonce: nonce };
        continue;
      }
      if (response.status === 401 || response.status === 422) {
        if (state.token) {
          // The old token is refused: start over as a new visitor.
          state.token = null;
          storageSet(":token", null);
          continue;
        }
      }
      attempt += 1;
      if (response.status === 429 || response.status >= 500) {
        showStatus("reconnecting");
        await sleep(response.retryAfter || backoff(attempt));
        continue;
      }
      showStatus(null);
      showNotice(t("error"));
      throw new Error("session refused: " + response.status);
    }
  }

  /** A 401 on a call: the token is gone for good, so the visitor starts afresh. */
  function renewSession() {
    state.generation += 1; // stops the current poll loop
    state.token = null;
    storageSet(":token", null);
    state.session = null;
    return ensureSession();
  }

  // --- messages ----------------------------------------------------------------------------

  function clearList() {
    Object.keys(state.rendered).forEach(function (id) {
      var node = state.rendered[id];
      if (node.parentNode) node.parentNode.removeChild(node);
    });
    state.rendered = {};
    state.lastId = null;
    state.historyLoaded = false;
    state.urls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    state.urls = [];
    welcome.hidden = false;
  }

  function revokeIn(node) {
    var images = node.querySelectorAll("img, a");
    for (var i = 0; i < images.length; i++) {
      var url = images[i].getAttribute("src") || images[i].getAttribute("href");
      if (url && url.indexOf("blob:") === 0) {
        URL.revokeObjectURL(url);
        var at = state.urls.indexOf(url);
        if (at >= 0) state.urls.splice(at, 1);
      }
    }
  }

  function makeUrl(blob) {
    var url = URL.createObjectURL(blob);
    state.urls.push(url);
    return url;
  }

  /** One message's element; body and author go in as text, never as markup. */
  function messageElement(message) {
    var mine = message.from === "customer";
    var item = el("div", "msg " + (mine ? "msg-customer" : "msg-agent"));
    if (!mine) item.appendChild(el("div", "author", message.author || t("staff")));
    var bubble = el("div", "bubble");
    if (message.body) bubble.appendChild(el("div", "body", message.body));
    (message.attachments || []).forEach(function (attachment) {
      bubble.appendChild(attachmentElement(attachment));
    });
    item.appendChild(bubble);
    var meta = el("div", "meta");
    var time = el("time", null, formatTime(message.at));
    if (message.at) time.setAttribute("datetime", String(message.at));
    meta.appendChild(time);
    item.appendChild(meta);
    return item;
  }

  function attachmentElement(attachment) {
    var holder = el("div", "attachment");
    var name = String(attachment.name || t("image"));
    var isImage = IMAGE_TYPES.indexOf(String(attachment.type || "").toLowerCase()) >= 0;
    holder.appendChild(el("span", "attachment-loading", name));
    fetch(API + "/widget/v1/attachments/" + encodeURIComponent(String(attachment.id)), {
      headers: { Authorization: "Bearer " + state.token },
      credentials: "omit",
      cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("attachment " + response.status);
        return response.blob();
      })
      .then(function (raw) {
        holder.textContent = "";
        var stick = nearBottom();
        if (isImage) {
          var img = el("img", "attachment-image");
          img.alt = name;
          img.src = makeUrl(new Blob([raw], { type: String(attachment.type).toLowerCase() }));
          img.addEventListener("load", function () {
            if (stick) scrollDown();
          });
          holder.appendChild(img);
        } else {
          // application/octet-stream + download: the blob is saved, never rendered here.
          var link = el("a", "attachment-file", name);
          link.href = makeUrl(new Blob([raw], { type: "application/octet-stream" }));
          link.download = name;
          link.rel = "noopener";
          holder.appendChild(link);
        }
      })
      .catch(function () {
        holder.textContent = "";
        holder.appendChild(el("span", "attachment-failed", t("fileFailed") + ": " + name));
      });
    return holder;
  }

  /** Put stored messages in the list (once each); returns how many agent ones were new. */
  function addMessages(messages, before) {
    var stick = nearBottom();
    var fresh = 0;
    messages.forEach(function (message) {
      if (!message || !message.id) return;
      var id = String(message.id);
      if (state.rendered[id]) return;
      var node = messageElement(message);
      state.rendered[id] = node;
      if (before && before.parentNode === log) log.insertBefore(node, before);
      else log.insertBefore(node, firstPending());
      if (message.from !== "customer") fresh += 1;
    });
    welcome.hidden = Object.keys(state.rendered).length > 0 || !!log.querySelector(".msg");
    if (stick) scrollDown();
    return fresh;
  }

  function firstPending() {
    return log.querySelector(".msg-pending");
  }

  function apply(data, historyBatch) {
    var messages = Array.isArray(data.messages) ? data.messages : [];
    var seen = storageGet(":seen");
    var agentNew = 0;
    if (historyBatch && !state.panelOpen) {
      // Unread from an earlier page view: agent messages after the last one seen.
      var afterSeen = seen === null;
      messages.forEach(function (message) {
        if (afterSeen && message.from !== "customer" && !state.rendered[String(message.id)]) agentNew += 1;
        if (String(message.id) === seen) afterSeen = true;
      });
      if (seen === null) agentNew = 0;
      addMessages(messages);
    } else {
      agentNew = addMessages(messages);
    }
    if (messages.length) state.lastId = String(messages[messages.length - 1].id);
    if (state.config) {
      var changed = state.config.agent !== data.agent || state.config.open !== data.open;
      if ("agent" in data) state.config.agent = data.agent;
      if ("open" in data) state.config.open = !!data.open;
      if (changed) renderConfig();
    }
    if (state.panelOpen) markSeen();
    else if (agentNew) {
      state.unread += agentNew;
      setBadge();
    }
  }

  async function pollLoop(generation) {
    var failures = 0;
    var history = true; // the first calls page through the history without waiting
    while (generation === state.generation && !state.stopped) {
      var wait = history ? 0 : LONG_POLL_S;
      var response;
      try {
        response = await call(
          "GET",
          "/widget/v1/messages?after=" + encodeURIComponent(state.lastId || "") + "&wait=" + wait,
          { timeout: (wait + 15) * 1000 }
        );
      } catch (err) {
        if (generation !== state.generation) return;
        failures += 1;
        if (failures > 1) showStatus("reconnecting");
        await sleep(backoff(failures));
        continue;
      }
      if (generation !== state.generation) return;
      if (response.status === 200 && response.data) {
        if (failures) showStatus(null);
        failures = 0;
        var count = Array.isArray(response.data.messages) ? response.data.messages.length : 0;
        apply(response.data, history);
        // A full page means more history is waiting: fetch it at once.
        history = history && count >= 100;
        state.historyLoaded = true;
        continue;
      }
      if (response.status === 401) {
        renewSession();
        return;
      }
      failures += 1;
      // 429 (e.g. a third tab of the same visitor over the server's long-poll limit):
      // never sooner than Retry-After, and backing off further while it lasts.
      await sleep(Math.max(response.retryAfter, backoff(failures)));
    }
  }

  // --- sending -----------------------------------------------------------------------------

  function pendingElement(item) {
    var node = el("div", "msg msg-customer msg-pending");
    var bubble = el("div", "bubble");
    if (item.text) bubble.appendChild(el("div", "body", item.text));
    if (item.file) {
      var holder = el("div", "attachment");
      if (IMAGE_TYPES.indexOf(item.file.type) >= 0) {
        var img = el("img", "attachment-image");
        img.alt = item.file.name;
        img.src = makeUrl(item.file);
        holder.appendChild(img);
      } else {
        holder.appendChild(el("span", "attachment-loading", item.file.name));
      }
      bubble.appendChild(holder);
    }
    node.appendChild(bubble);
    var meta = el("button", "meta pending-state");
    meta.type = "button";
    meta.disabled = true;
    node.appendChild(meta);
    meta.addEventListener("click", function () {
      if (item.state === "failed") deliver(item);
    });
    item.meta = meta;
    return node;
  }

  function setPending(item, which, reason) {
    item.state = which;
    item.node.classList.toggle("is-failed", which === "failed");
    item.meta.disabled = which !== "failed";
    item.meta.textContent = which === "failed" ? (reason ? reason + " " : "") + t("failed") : t("sending");
  }

  function queue(item) {
    item.key = newKey();
    item.node = pendingElement(item);
    log.appendChild(item.node);
    welcome.hidden = true;
    scrollDown();
    deliver(item);
  }

  function reasonFor(status) {
    if (status === 413) return tooLargeText();
    if (status === 415) return t("notImage");
    if (status === 429) return t("slowDown");
    return t("error");
  }

  function tooLargeText() {
    var limit = state.config && state.config.max_image_bytes;
    return limit ? t("tooLarge", { size: formatBytes(limit) }) : t("error");
  }

  /** Send one pending item; the same client key on every try, so it is never doubled. */
  async function deliver(item) {
    setPending(item, "sending");
    for (var attempt = 1; attempt <= SEND_TRIES; attempt++) {
      var response;
      try {
        await ensureSession();
        if (item.file) {
          response = await call(
            "PUT",
            "/widget/v1/attachments?id=" + encodeURIComponent(item.key) + "&name=" + encodeURIComponent(item.file.name || "image"),
            { body: item.file, contentType: item.file.type || "application/octet-stream", timeout: 120000 }
          );
        } else {
          response = await call("POST", "/widget/v1/messages", { json: { id: item.key, body: item.text } });
        }
      } catch (err) {
        await sleep(backoff(attempt));
        continue;
      }
      if (response.status === 200 && response.data && Array.isArray(response.data.messages)) {
        settle(item, response.data.messages);
        return;
      }
      if (response.status === 401) {
        try {
          await renewSession();
        } catch (err) {
          break;
        }
        continue;
      }
      if (response.status === 429 || response.status >= 500) {
        await sleep(response.retryAfter || backoff(attempt));
        continue;
      }
      setPending(item, "failed", reasonFor(response.status));
      return;
    }
    setPending(item, "failed");
  }

  /** The server stored it: the pending bubble gives way to the stored message(s). */
  function settle(item, messages) {
    var node = item.node;
    addMessages(messages, node);
    revokeIn(node);
    if (node.parentNode) node.parentNode.removeChild(node);
  }

  function sendText() {
    var text = textarea.value.replace(/^\s+|\s+$/g, "");
    if (!text) return;
    var limit = state.config && state.config.max_chars;
    if (limit && text.length > limit) {
      showNotice(t("tooLong", { n: limit }));
      return;
    }
    textarea.value = "";
    autoGrow();
    queue({ text: text });
  }

  function autoGrow() {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight, 120) + "px";
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    sendText();
    textarea.focus();
  });

  textarea.addEventListener("keydown", function (event) {
    // isComposing: Enter that confirms an IME candidate (pinyin, Vietnamese Telex) is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendText();
    }
  });

  textarea.addEventListener("input", function () {
    autoGrow();
    var now = Date.now();
    if (state.token && textarea.value && now - state.lastTypingAt >= TYPING_EVERY_MS) {
      state.lastTypingAt = now;
      call("POST", "/widget/v1/typing", { json: {} }).catch(function () {
        // typing is a courtesy: a lost one does not matter
      });
    }
  });

  attachButton.addEventListener("click", function () {
    fileInput.click();
  });

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    var limit = state.config && state.config.max_image_bytes;
    if (limit && file.size > limit) {
      showNotice(tooLargeText());
      return;
    }
    if (file.type && file.type.indexOf("image/") !== 0) {
      showNotice(t("notImage"));
      return;
    }
    queue({ file: file });
  });

  // --- the offline form ----------------------------------------------------------------

  offline.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!offline.reportValidity()) return;
    var email = offlineEmail.input.value.trim();
    offlineSubmit.disabled = true;
    try {
      await ensureSession();
      var response = await call("POST", "/widget/v1/offline", {
        json: { name: offlineName.input.value.trim(), email: email, body: offlineBody.input.value.trim() },
      });
      if (response.status === 200) {
        offlineBody.input.value = "";
        offlineThanks.textContent = t("thanks", { email: email });
        offlineThanks.hidden = false;
      } else if (response.status === 401) {
        renewSession();
        showNotice(t("error"));
      } else {
        showNotice(response.status === 429 ? t("slowDown") : t("error"));
      }
    } catch (err) {
      showNotice(t("error"));
    } finally {
      offlineSubmit.disabled = false;
    }
  });

  // --- start ---------------------------------------------------------------------------

  window.addEventListener("pagehide", function (event) {
    if (!event.persisted) state.stopped = true;
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && state.stopped) {
      state.stopped = false;
      if (state.token) {
        state.generation += 1;
        pollLoop(state.generation);
      }
    }
  });

  function mount() {
    document.body.appendChild(host);
    applyStrings();
    setBadge();
    // A returning visitor: resume now, so an answer that came meanwhile shows as unread.
    if (state.token) ensureSession();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
