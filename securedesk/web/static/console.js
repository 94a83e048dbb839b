/* SecureDesk agent console: live updates over /agent/ws, replies sent over it. No inline script (CSP); every text
   comes from the server (masked) and is inserted as text, never as HTML. Without a WebSocket the pages and the
   reply form work as plain HTML. */
"use strict";

(function () {
  const root = document.getElementById("console");
  if (!root) {
    return;
  }
  const view = root.dataset.view;
  const caseId = root.dataset.caseId || null;
  const statusLine = document.getElementById("console-status");
  let socket = null;
  let counter = 0;

  function setStatus(text) {
    if (statusLine) {
      statusLine.textContent = text;
    }
  }

  function cell(row, className, text) {
    const td = row.querySelector("." + className);
    if (td) {
      td.textContent = text;
    }
  }

  function shortTime(iso) {
    return iso.slice(0, 19).replace("T", " ");
  }

  /* --- the list page ------------------------------------------------------------------------------------------- */

  function upsertCase(summary) {
    const body = document.querySelector("#case-list tbody");
    if (!body) {
      return;
    }
    const empty = body.querySelector("tr.empty");
    if (empty) {
      empty.remove();
    }
    let row = document.getElementById("case-" + summary.id);
    if (!row) {
      row = document.createElement("tr");
      row.id = "case-" + summary.id;
      row.dataset.caseId = summary.id;
      const head = document.createElement("th");
      head.scope = "row";
      const link = document.createElement("a");
      link.href = "/agent/cases/" + encodeURIComponent(summary.id);
      link.textContent = summary.reference;
      head.appendChild(link);
      row.appendChild(head);
      for (const name of ["channel", "subject wrap", "status", "presence", "updated nowrap"]) {
        const td = document.createElement("td");
        td.className = name;
        row.appendChild(td);
      }
      setStatus("New conversation " + summary.reference + ".");
    }
    cell(row, "channel", summary.channel);
    cell(row, "subject", summary.subject);
    const status = row.querySelector(".status");
    if (status) {
      const badge = document.createElement("span");
      badge.className = "badge badge-" + summary.status;
      badge.textContent = summary.status;
      status.replaceChildren(badge);
    }
    cell(row, "presence", summary.channel === "chat" ? (summary.customer_online ? "online" : "offline") : "-");
    cell(row, "updated", shortTime(summary.updated_at));
    body.prepend(row); // most recently updated first
  }

  function setListPresence(id, online) {
    const row = document.getElementById("case-" + id);
    if (row) {
      cell(row, "presence", online ? "online" : "offline");
    }
  }

  /* --- the case page ------------------------------------------------------------------------------------------- */

  function appendMessage(message) {
    const list = document.getElementById("transcript");
    if (!list || document.getElementById("msg-" + message.id)) {
      return;
    }
    const empty = list.querySelector("li.empty");
    if (empty) {
      empty.remove();
    }
    const item = document.createElement("li");
    item.id = "msg-" + message.id;
    item.className = "message message-" + message.sender;
    item.dataset.messageId = message.id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.sender === "agent" ? "Agent " + (message.sender_name || "") : "Customer";
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = shortTime(message.at);
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = message.text;
    item.append(who, document.createTextNode(" "), when, text);
    list.appendChild(item);
  }

  function replaceMessage(id, text) {
    const item = document.getElementById("msg-" + id);
    const body = item ? item.querySelector(".text") : null;
    if (body) {
      body.textContent = text;
      item.classList.add("retracted");
    }
  }

  function setCasePresence(online) {
    const presence = document.getElementById("customer-presence");
    if (presence) {
      presence.textContent = online ? "online" : "offline";
    }
  }

  const replyForm = document.getElementById("reply-form");
  const replyText = document.getElementById("reply-text");
  const replyStatus = document.getElementById("reply-status");

  if (replyForm && caseId) {
    replyForm.addEventListener("submit", function (event) {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        return; // the plain form POST does it
      }
      event.preventDefault();
      const text = replyText.value.trim();
      if (!text) {
        return;
      }
      counter += 1;
      socket.send(JSON.stringify({ type: "reply", case_id: caseId, text: text, client_id: "r" + counter }));
      replyStatus.textContent = "Sending…";
    });
  }

  function replyResult(frame) {
    if (!replyStatus || frame.case_id !== caseId) {
      return;
    }
    if (frame.status === "sent" || frame.status === "pending") {
      replyText.value = "";
      replyStatus.textContent = frame.notice || "Your reply was sent.";
    } else {
      replyStatus.textContent = frame.notice || "Your reply was not sent.";
    }
  }

  /* --- the socket ---------------------------------------------------------------------------------------------- */

  function handle(frame) {
    switch (frame.type) {
      case "hello":
        setStatus("Live updates: connected.");
        break;
      case "case":
        if (view === "list") {
          upsertCase(frame.case);
        }
        break;
      case "message":
        if (view === "list") {
          upsertCase(frame.case);
        } else if (frame.case.id === caseId) {
          appendMessage(frame.message);
        }
        break;
      case "replace":
        if (frame.case_id === caseId) {
          replaceMessage(frame.message_id, frame.text);
        }
        break;
      case "presence":
        if (view === "list") {
          setListPresence(frame.case_id, frame.customer_online);
        } else if (frame.case_id === caseId) {
          setCasePresence(frame.customer_online);
        }
        break;
      case "reply_result":
        replyResult(frame);
        break;
      default:
        break;
    }
  }

  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
  socket.addEventListener("message", function (event) {
    handle(JSON.parse(event.data));
  });
  socket.addEventListener("close", function (event) {
    setStatus(event.code === 1008
      ? "Live updates stopped: your session has ended. Log in again."
      : "Live updates stopped. Reload the page to reconnect.");
  });
})();
