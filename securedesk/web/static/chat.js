/* SecureDesk chat widget: talks to /chat/ws. No framework, no build step, no inline script (CSP).
   Every text shown comes from the server's frames (already screened) or from the page's data-text-* attributes. */
"use strict";

(function () {
  const root = document.getElementById("chat");
  if (!root) {
    return;
  }
  const texts = root.dataset;
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const status = document.getElementById("chat-status");
  const byClientId = new Map();
  const byId = new Map();
  let socket = null;
  let counter = 0;

  function setStatus(text) {
    status.textContent = text;
  }

  function setEnabled(enabled) {
    input.disabled = !enabled;
    send.disabled = !enabled;
  }

  /* Text as text nodes; only URLs of this site become links (the nudge's form, lookup and call-back pages). */
  function fillText(element, text) {
    element.textContent = "";
    const own = window.location.origin + "/";
    for (const part of text.split(/(https?:\/\/[^\s]+)/)) {
      if (part.startsWith(own)) {
        const link = document.createElement("a");
        link.href = part;
        link.textContent = part;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        element.appendChild(link);
      } else if (part) {
        element.appendChild(document.createTextNode(part));
      }
    }
  }

  function addEntry(kind, who, text) {
    const item = document.createElement("li");
    item.className = "chat-entry chat-" + kind;
    const label = document.createElement("span");
    label.className = "chat-who";
    label.textContent = who;
    const body = document.createElement("p");
    body.className = "chat-text";
    fillText(body, text);
    item.append(label, body);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function setEntryText(item, text) {
    fillText(item.querySelector(".chat-text"), text);
  }

  function markNotSent(clientId) {
    const item = byClientId.get(clientId);
    if (!item) {
      return;
    }
    byClientId.delete(clientId);
    item.classList.add("chat-not-sent");
    const flag = document.createElement("span");
    flag.className = "chat-flag";
    flag.textContent = texts.textNotSent;
    item.appendChild(flag);
  }

  function showMessage(frame) {
    if (byId.has(frame.id)) {
      return;
    }
    let item = frame.client_id ? byClientId.get(frame.client_id) : undefined;
    if (item) {
      byClientId.delete(frame.client_id);
      item.classList.remove("chat-pending");
      setEntryText(item, frame.text); // what the agent sees: numbers already masked
    } else {
      const who = frame.sender === "agent" ? texts.textAgent : texts.textYou;
      item = addEntry(frame.sender === "agent" ? "agent" : "customer", who, frame.text);
    }
    byId.set(frame.id, item);
  }

  function showPresence(count) {
    setStatus(count > 0 ? texts.textOnline : texts.textOffline);
  }

  function handle(frame) {
    switch (frame.type) {
      case "hello":
        for (const message of frame.history) {
          showMessage(message);
        }
        showPresence(frame.agents_online);
        setEnabled(true);
        break;
      case "message":
        showMessage(frame);
        break;
      case "replace": {
        const item = byId.get(frame.id);
        if (item) {
          setEntryText(item, frame.text);
        }
        break;
      }
      case "notice":
        if (frame.client_id) {
          markNotSent(frame.client_id);
        }
        addEntry("notice", texts.textNotice, frame.text);
        break;
      case "error":
        markNotSent(frame.client_id);
        addEntry("notice", texts.textNotice, frame.code === "held" ? texts.textHeld : texts.textInvalid);
        break;
      case "presence":
        showPresence(frame.agents_online);
        break;
      default:
        break;
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + window.location.host + texts.wsPath + "?lang=" + encodeURIComponent(texts.lang);
    socket = new WebSocket(url);
    socket.addEventListener("message", function (event) {
      handle(JSON.parse(event.data));
    });
    socket.addEventListener("close", function () {
      setEnabled(false);
      setStatus(texts.textClosed);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    counter += 1;
    const clientId = "c" + counter;
    const item = addEntry("customer", texts.textYou, text);
    item.classList.add("chat-pending");
    byClientId.set(clientId, item);
    socket.send(JSON.stringify({ type: "message", text: text, client_id: clientId }));
    input.value = "";
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  connect();
})();
