// Tunesmith playground page: renders a channel, thread or DM as the chosen simulated user sees it, sends
// slash commands, clicks and reactions through /ui/*, and applies live updates from the /ui/ws websocket.
"use strict";

const AUDIO_TYPES = ["audio/mpeg", "audio/mp3", "audio/ogg", "audio/wav", "audio/x-wav", "audio/wave", "audio/webm", "audio/flac"];
const AUDIO_EXTENSIONS = /\.(mp3|ogg|oga|wav|flac|webm)$/i;
const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|webp)$/i;
const QUICK_EMOJI = ["👍", "👎", "❤️", "🔥", "🎵", "🎷", "😂"];
const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link" };
const OPTION_TYPES = { 3: "text", 4: "integer", 5: "true/false", 6: "user", 7: "channel", 8: "role", 9: "mentionable", 10: "number", 11: "file" };
const ATTACHMENT_OPTION = 11;

const state = {
  me: localStorage.getItem("playground-user") || "",
  channel: localStorage.getItem("playground-channel") || "",  // the channel, thread or DM shown
  places: [],
  users: [],
  bot: null,
  commands: [],
  messages: new Map(),      // id -> message payload, as `me` sees it
  pending: new Map(),       // interaction id -> {label, failed}
  socket: null,
  suggestion: { items: [], active: 0 },
  modalInteraction: null,
};

const $ = (id) => document.getElementById(id);

// --- helpers ----------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A little of Discord's markdown: code, bold, italic, underline, links.
function markdown(text) {
  let html = escapeHtml(text || "");
  html = html.replace(/`([^`]+)`/g, "<code>$1</code>");
  html = html.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  html = html.replace(/__([^_]+)__/g, "<u>$1</u>");
  html = html.replace(/(^|[^*])\*([^*]+)\*/g, "$1<em>$2</em>");
  html = html.replace(/\bhttps?:\/\/[^\s<]+/g, (url) => `<a href="${url}" target="_blank" rel="noreferrer">${url}</a>`);
  return html;
}

// Only web links may become hrefs: a bot's embed URL must not run script in the page.
function safeUrl(url) {
  return /^https?:\/\//i.test(url || "") ? url : undefined;
}

function colorFor(id) {
  const palette = ["#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459e", "#2d8c5a", "#9b59b6"];
  const text = String(id);
  return palette[Number(text.slice(-4)) % palette.length];
}

function avatar(user, small = false) {
  const name = user.global_name || user.username || user.name || "?";
  return el("div", { class: small ? "avatar small" : "avatar", style: `background:${colorFor(user.id)}`, "aria-hidden": "true" }, name[0].toUpperCase());
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
}

function toast(text) {
  const node = el("div", { class: "toast", role: "alert" }, text);
  $("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

// The server put this token in the page's HTML; every API call and the websocket carry it, so pages on
// other sites (which cannot read this page) cannot drive the playground.
const PAGE_TOKEN = document.querySelector('meta[name="playground-token"]')?.content || "";
const SOCKET_PROTOCOL = "tunesmith-playground";

async function call(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Playground-Token": PAGE_TOKEN },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

async function post(path, body) {
  const { ok, status, data } = await call(path, { user: state.me, channel: state.channel, ...body });
  if (!ok) {
    toast(data.error || `Request failed (${status})`);
    return null;
  }
  return data;
}

const compareIds = (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

// --- loading and live updates -----------------------------------------------------------------

// The server never picks a user: when the page has none (or a stale one), it chooses the first listed.
async function chooseUser() {
  const { ok, data } = await call("/ui/users", {});
  if (!ok) throw new Error(data.error || "the playground did not list its users");
  if (!data.users.some((u) => u.id === state.me)) state.me = data.users[0]?.id || "";
}

async function loadState() {
  let data;
  try {
    await chooseUser();
    let answer = await call("/ui/state", { user: state.me, channel: state.channel });
    if (!answer.ok && state.channel) answer = await call("/ui/state", { user: state.me }); // that user cannot see it: go to theirs
    if (!answer.ok) throw new Error(answer.data.error || `Request failed (${answer.status})`);
    data = answer.data;
  } catch (error) {
    toast(String(error.message || error));
    setTimeout(loadState, 2000); // the playground may be restarting
    return;
  }
  state.me = data.me;
  localStorage.setItem("playground-user", state.me);
  state.channel = data.channel.id;
  localStorage.setItem("playground-channel", state.channel);
  state.places = data.places;
  state.users = data.users;
  state.bot = data.bot;
  state.commands = data.commands;
  state.messages = new Map(data.messages.map((m) => [m.id, m]));
  state.pending.clear();
  $("guild-name").textContent = data.guild.name;
  $("channel-name").textContent = data.channel.name;
  $("channel-hash").textContent = data.channel.kind === "dm" ? "@" : "#";
  $("channel-topic").textContent = data.channel.topic || "";
  $("command-input").placeholder = `Type / for commands, or say something in ${data.channel.kind === "dm" ? "your DM with " : "#"}${data.channel.name}`;
  renderPlaces();
  setBotStatus(data.bot.connected);
  renderUsers();
  renderAllMessages();
  connectSocket();
}

function connectSocket() {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ui/ws?user=${encodeURIComponent(state.me)}`, [SOCKET_PROTOCOL, `token.${PAGE_TOKEN}`]);
  socket.onmessage = (event) => applyUpdate(JSON.parse(event.data));
  socket.onclose = () => setTimeout(loadState, 1000); // the server restarted or the network blinked
  state.socket = socket;
}

function applyUpdate(update) {
  switch (update.type) {
    case "message":
      if (update.message.channel_id !== state.channel) break; // another channel's news
      state.messages.set(update.message.id, update.message);
      renderMessage(update.message);
      break;
    case "delete":
      state.messages.delete(update.id);
      document.querySelector(`[data-message-id="${update.id}"]`)?.remove();
      break;
    case "commands_changed":
      refreshCommands();
      break;
    case "places":
      state.places = update.places;
      renderPlaces();
      break;
    case "users":
      state.users = update.users;
      renderUsers();
      break;
    case "bot":
      setBotStatus(update.connected);
      break;
    case "pending":
      state.pending.set(update.interaction_id, { label: update.label, kind: update.kind, failed: false });
      renderPending(update.interaction_id);
      break;
    case "callback":
      state.pending.delete(update.interaction_id);
      document.querySelector(`[data-pending-id="${update.interaction_id}"]`)?.remove();
      if (update.modal) openModal(update.interaction_id, update.modal);
      break;
    case "failed": {
      const entry = state.pending.get(update.interaction_id) || { label: update.label };
      entry.failed = true;
      state.pending.set(update.interaction_id, entry);
      renderPending(update.interaction_id);
      break;
    }
  }
}

async function refreshCommands() {
  const answer = await call("/ui/state", { user: state.me, channel: state.channel });
  if (!answer.ok) return;
  state.commands = answer.data.commands;
  refreshSuggestions();
}

// --- places: each guild's channels and threads, and the DM with the bot ---------------------------

function renderPlaces() {
  const nav = $("places");
  const groups = new Map();
  for (const place of state.places) {
    const key = place.guild ? place.guild.name : "Direct messages";
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(place);
  }
  nav.replaceChildren(...[...groups].flatMap(([name, places]) => [
    el("div", { class: "channel-group" }, name),
    ...places.map((place) => el("div", {
      class: `channel${place.id === state.channel ? " active" : ""}${place.kind === "thread" ? " thread" : ""}`,
      title: place.kind === "dm" ? "Your DM with the bot" : `#${place.name}`,
      onclick: () => switchChannel(place.id),
    }, el("span", { class: "hash" }, place.kind === "dm" ? "@" : place.kind === "thread" ? "↳" : "#"), el("span", {}, place.name))),
  ]));
}

function switchChannel(id) {
  if (id === state.channel) return;
  state.channel = id;
  loadState();
}

function setBotStatus(connected) {
  $("bot-status").classList.toggle("online", connected);
  $("bot-status").querySelector(".text").textContent = connected ? `${state.bot?.username || "bot"} online` : "bot offline";
}

// --- users ------------------------------------------------------------------------------------

function renderUsers() {
  const switcher = $("user-switcher");
  switcher.replaceChildren(...state.users.map((u) => el("option", { value: u.id, selected: u.id === state.me }, u.name + (u.admin ? " (admin)" : ""))));
  const list = $("member-list");
  list.replaceChildren(
    ...state.users.map((u) =>
      el("li", { class: u.id === state.me ? "me" : "", title: `Act as ${u.name}`, onclick: () => switchUser(u.id) },
        avatar(u, true), el("span", {}, u.name), u.admin ? el("span", { class: "badge admin" }, "admin") : null)),
    state.bot ? el("li", { title: "The bot" }, avatar(state.bot, true), el("span", {}, state.bot.username), el("span", { class: "badge" }, "bot")) : null,
  );
}

function switchUser(id) {
  if (id === state.me) return;
  state.me = id;
  loadState();
}

// --- messages ---------------------------------------------------------------------------------

function renderAllMessages() {
  const list = $("messages");
  list.replaceChildren();
  const ids = [...state.messages.keys()].sort(compareIds);
  if (!ids.length) list.append(el("li", { class: "empty", id: "empty-note" }, "No messages yet. Type / to see the bot's commands."));
  for (const id of ids) renderMessage(state.messages.get(id));
}

function renderMessage(message) {
  const list = $("messages");
  $("empty-note")?.remove();
  const node = messageNode(message);
  const existing = list.querySelector(`[data-message-id="${message.id}"]`);
  if (existing) {
    existing.replaceWith(node);
    return;
  }
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const later = [...list.querySelectorAll("[data-message-id]")].find((n) => compareIds(n.dataset.messageId, message.id) > 0);
  list.insertBefore(node, later || list.querySelector("[data-pending-id]"));
  if (nearBottom || message.interaction_metadata?.user?.id === state.me) list.scrollTop = list.scrollHeight;
}

function messageNode(message) {
  const ephemeral = (message.flags & 64) !== 0;
  const loading = (message.flags & 128) !== 0;
  const author = message.author;
  const time = new Date(message.timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const body = el("div", { class: "body" });
  const meta = message.interaction_metadata;
  if (meta && meta.name) {
    body.append(el("div", { class: "used-command" }, avatar(meta.user, true), el("strong", {}, meta.user.global_name || meta.user.username), " used ", el("span", { class: "command" }, `/${meta.name}`)));
  }
  body.append(el("div", {},
    el("span", { class: "author" }, author.global_name || author.username),
    author.bot ? el("span", { class: "badge" }, "app") : null, " ",
    el("span", { class: "time" }, time),
    message.edited_timestamp && !loading ? el("span", { class: "edited" }, "(edited)") : null));
  if (loading) {
    body.append(el("div", { class: "thinking" }, `${author.username} is thinking`, el("span", { class: "dots" })));
  } else if (message.content) {
    const content = el("div", { class: "content" });
    content.innerHTML = markdown(message.content);
    body.append(content);
  }
  for (const embed of message.embeds || []) body.append(embedNode(embed));
  if (message.attachments?.length) body.append(el("div", { class: "attachments" }, message.attachments.map(attachmentNode)));
  for (const component of message.components || []) body.append(componentNode(component, message));
  if (!ephemeral && !loading) body.append(reactionsNode(message));
  if (ephemeral) {
    body.append(el("div", { class: "ephemeral-note" }, "👁 Only you can see this • ",
      el("button", { type: "button", onclick: () => { state.messages.delete(message.id); node.remove(); } }, "Dismiss message")));
  }
  const node = el("li", { class: `message${ephemeral ? " ephemeral" : ""}`, "data-message-id": message.id }, avatar(author), body);
  return node;
}

function embedNode(embed) {
  const color = embed.color !== undefined ? `#${embed.color.toString(16).padStart(6, "0")}` : "var(--grey)";
  const node = el("div", { class: "embed", style: `border-left-color:${color}` });
  if (embed.author?.name) node.append(el("div", { class: "embed-author" }, embed.author.name));
  if (embed.title) {
    node.append(el("div", { class: "embed-title" }, safeUrl(embed.url) ? el("a", { href: safeUrl(embed.url), target: "_blank", rel: "noreferrer" }, embed.title) : embed.title));
  }
  if (embed.description) {
    const description = el("div", { class: "embed-description" });
    description.innerHTML = markdown(embed.description);
    node.append(description);
  }
  if (embed.fields?.length) {
    node.append(el("div", { class: "embed-fields" }, embed.fields.map((f) =>
      el("div", { class: `embed-field${f.inline ? "" : " wide"}` }, el("div", { class: "name" }, f.name), el("div", { class: "value" }, f.value)))));
  }
  if (safeUrl(embed.image?.url)) node.append(el("img", { src: embed.image.url, alt: "" }));
  if (safeUrl(embed.thumbnail?.url)) node.append(el("img", { src: embed.thumbnail.url, alt: "", style: "max-width:80px" }));
  if (embed.footer?.text) node.append(el("div", { class: "embed-footer" }, embed.footer.text));
  return node;
}

function attachmentNode(attachment) {
  const type = attachment.content_type || "";
  const name = attachment.filename;
  if (type.startsWith("image/") || (!type && IMAGE_EXTENSIONS.test(name))) {
    return el("a", { class: "attachment-image", href: attachment.url, target: "_blank" }, el("img", { src: attachment.url, alt: name }));
  }
  const download = el("a", { href: `${attachment.url}?download=1`, download: name }, name);
  const line = el("div", { class: "file-line" },
    el("span", { class: "file-icon", "aria-hidden": "true" }, type.includes("midi") ? "🎼" : type.startsWith("audio/") ? "🎵" : "📄"),
    el("div", {}, download, el("div", { class: "size" }, `${formatSize(attachment.size)}${type.includes("midi") ? " • MIDI" : ""}`)));
  const node = el("div", { class: "attachment" }, line);
  if (AUDIO_TYPES.includes(type) || AUDIO_EXTENSIONS.test(name)) {
    node.append(el("audio", { controls: true, preload: "metadata", src: attachment.url, "data-filename": name }));
  }
  return node;
}

function componentNode(component, message) {
  switch (component.type) {
    case 1: return el("div", { class: "component-row" }, (component.components || []).map((c) => interactiveNode(c, message)));
    case 2: case 3: case 5: case 6: case 7: case 8: return el("div", { class: "component-row" }, interactiveNode(component, message));
    case 9: return el("div", {}, (component.components || []).map((c) => componentNode(c, message)), component.accessory ? interactiveNode(component.accessory, message) : null);
    case 10: { const text = el("div", { class: "content" }); text.innerHTML = markdown(component.content); return text; }
    case 12: return el("div", {}, (component.items || []).map((item) => el("img", { src: item.media?.url, alt: item.description || "", style: "max-width:300px;border-radius:6px" })));
    case 13: return el("div", { class: "attachment" }, el("a", { href: safeUrl(component.file?.url) }, component.file?.url || "file"));
    case 14: return el("hr", { class: "separator" });
    case 17: return el("div", { class: "container", style: component.accent_color !== undefined ? `border-left-color:#${component.accent_color.toString(16).padStart(6, "0")}` : "" }, (component.components || []).map((c) => componentNode(c, message)));
    default: return null;
  }
}

function interactiveNode(component, message) {
  if (component.type === 2) {
    const style = BUTTON_STYLES[component.style] || "secondary";
    const label = [component.emoji?.name, component.label].filter(Boolean).join(" ");
    if (component.style === 5) return el("a", { class: "btn link", href: safeUrl(component.url), target: "_blank", rel: "noreferrer" }, `${label} ↗`);
    return el("button", {
      type: "button", class: `btn ${style}`, disabled: component.disabled, "data-custom-id": component.custom_id,
      onclick: () => post("/ui/click", { message_id: message.id, custom_id: component.custom_id }),
    }, label || "​");
  }
  if (component.type === 3) {
    const multiple = (component.max_values || 1) > 1;
    const select = el("select", { class: "select", multiple, disabled: component.disabled, "data-custom-id": component.custom_id });
    if (!multiple) select.append(el("option", { value: "", disabled: true, selected: true }, component.placeholder || "Make a selection"));
    for (const option of component.options || []) {
      select.append(el("option", { value: option.value, title: option.description || "" }, [option.emoji?.name, option.label].filter(Boolean).join(" ")));
    }
    select.addEventListener("change", () => {
      const values = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
      if (!multiple || values.length >= (component.min_values ?? 1)) post("/ui/click", { message_id: message.id, custom_id: component.custom_id, values });
    });
    return select;
  }
  if ([5, 6, 7, 8].includes(component.type)) {
    // User selects are the useful auto-populated kind in the playground: offer the simulated users.
    const select = el("select", { class: "select", disabled: component.disabled || component.type !== 5, "data-custom-id": component.custom_id },
      el("option", { value: "", disabled: true, selected: true }, component.placeholder || "Select a user"),
      state.users.map((u) => el("option", { value: u.id }, u.name)));
    select.addEventListener("change", () => post("/ui/click", { message_id: message.id, custom_id: component.custom_id, values: [select.value] }));
    return select;
  }
  return null;
}

function reactionsNode(message) {
  const node = el("div", { class: "reactions" });
  for (const reaction of message.reactions || []) {
    const emoji = reaction.emoji.id ? `${reaction.emoji.name}:${reaction.emoji.id}` : reaction.emoji.name;
    node.append(el("button", {
      type: "button", class: `reaction${reaction.me ? " me" : ""}`, "data-emoji": emoji, "aria-pressed": reaction.me ? "true" : "false",
      onclick: () => post("/ui/react", { message_id: message.id, emoji, remove: reaction.me }),
    }, el("span", {}, reaction.emoji.name), el("span", { class: "count" }, reaction.count)));
  }
  const add = el("button", { type: "button", class: "add-reaction", title: "Add reaction", "aria-label": "Add reaction" }, "☺ +");
  add.addEventListener("click", () => {
    const picker = el("div", { class: "emoji-picker" }, QUICK_EMOJI.map((emoji) =>
      el("button", { type: "button", onclick: () => { picker.remove(); post("/ui/react", { message_id: message.id, emoji }); } }, emoji)));
    add.replaceWith(picker);
  });
  node.append(add);
  return node;
}

function renderPending(interactionId) {
  const entry = state.pending.get(interactionId);
  const list = $("messages");
  const existing = list.querySelector(`[data-pending-id="${interactionId}"]`);
  const me = state.users.find((u) => u.id === state.me) || { id: state.me, name: "you" };
  const text = entry.failed ? `${entry.label}: The application did not respond` : `Sending ${entry.label}…`;
  const node = el("li", { class: `message ephemeral${entry.failed ? " failed" : ""}`, "data-pending-id": interactionId },
    avatar(me), el("div", { class: "body" }, el("div", {}, el("span", { class: "author" }, me.name)), el("div", { class: entry.failed ? "content" : "thinking" }, text),
      entry.failed ? el("div", { class: "ephemeral-note" }, "👁 Only you can see this") : null));
  if (existing) existing.replaceWith(node);
  else list.append(node);
  list.scrollTop = list.scrollHeight;
}

// --- the slash-command composer -----------------------------------------------------------------

// Split "/plugins reload name:compose" into the longest known command path and its option text.
function parseInput(text) {
  if (!text.startsWith("/")) return null;
  const body = text.slice(1);
  const words = body.split(/\s+/);
  let command = null;
  for (let n = Math.min(words.length, 3); n >= 1; n--) {
    const path = words.slice(0, n).join(" ");
    const found = state.commands.find((c) => c.path === path);
    if (found && (body.length > path.length || n === words.length)) { command = found; break; }
  }
  if (!command) return { command: null, typed: body };
  const rest = body.slice(command.path.length);
  const options = {};
  const pattern = /(?:^|\s)([\w-]+):/g;
  const marks = [...rest.matchAll(pattern)];
  marks.forEach((match, i) => {
    const start = match.index + match[0].length;
    const end = i + 1 < marks.length ? marks[i + 1].index : rest.length;
    options[match[1]] = rest.slice(start, end).trim().replace(/^"(.*)"$/, "$1");
  });
  const last = marks[marks.length - 1];
  const tail = last ? rest.slice(last.index + last[0].length) : null;
  const typingValue = last && !/\s$/.test(rest) ? { name: last[1], value: tail.trim() } : null;
  const afterSpace = /\s$/.test(text);
  return { command, options, typingValue, afterSpace };
}

function refreshSuggestions() {
  const input = $("command-input");
  const text = input.value;
  const parsed = parseInput(text);
  const items = [];
  let heading = "";
  let enterApplies = false; // Enter completes a command name or a choice; otherwise it sends
  $("hint").textContent = "";
  if (parsed && !parsed.command) {
    heading = "Commands";
    enterApplies = true;
    const typed = parsed.typed.trim().toLowerCase();
    for (const command of state.commands.filter((c) => c.path.startsWith(typed)).slice(0, 25)) {
      items.push({ name: `/${command.path}`, desc: command.description, insert: `/${command.path} ` });
    }
    if (!state.commands.length) $("hint").textContent = "The bot has not synced any commands yet.";
  } else if (parsed && parsed.command) {
    const { command, options, typingValue } = parsed;
    const option = typingValue && command.options.find((o) => o.name === typingValue.name);
    if (option && option.choices?.length) {
      heading = `${option.name}: choices`;
      enterApplies = !option.choices.some((c) => String(c.value) === typingValue.value);
      for (const choice of option.choices.filter((c) => String(c.name).toLowerCase().includes(typingValue.value.toLowerCase()) || String(c.value).toLowerCase().includes(typingValue.value.toLowerCase()))) {
        items.push({ name: choice.name, desc: String(choice.value) !== choice.name ? String(choice.value) : "", insert: replaceTail(text, typingValue.value, quoteValue(String(choice.value))) + " " });
      }
    } else if (option && option.autocomplete) {
      heading = `${option.name}: suggestions`;
      requestAutocomplete(command, options, option.name, typingValue.value);
      for (const choice of state.autocompleteChoices || []) {
        items.push({ name: choice.name, desc: "", insert: replaceTail(text, typingValue.value, quoteValue(String(choice.value))) + " " });
      }
    } else if (option) {
      $("hint").innerHTML = `<code>${escapeHtml(option.name)}</code> · ${OPTION_TYPES[option.type] || "value"} — ${escapeHtml(option.description || "")}`;
    } else {
      const remaining = command.options.filter((o) => !(o.name in options) && o.type !== ATTACHMENT_OPTION);
      heading = remaining.length ? `/${command.path} options` : "";
      for (const o of remaining) {
        items.push({ name: `${o.name}:`, desc: `${OPTION_TYPES[o.type] || ""} — ${o.description || ""}`, required: o.required, insert: text.replace(/\s*$/, " ") + `${o.name}:` });
      }
      const missing = command.options.filter((o) => o.required && !(o.name in options) && o.type !== ATTACHMENT_OPTION).map((o) => o.name);
      $("hint").innerHTML = `<code>/${escapeHtml(command.path)}</code> — ${escapeHtml(command.description || "")}` +
        (missing.length ? ` · required: ${missing.map((m) => `<code>${escapeHtml(m)}</code>`).join(", ")}` : " · press Enter to send");
    }
    renderAttachmentInputs(command);
  }
  if (!parsed || !parsed.command) renderAttachmentInputs(null);
  state.suggestion = { items, active: 0, enterApplies };
  const box = $("suggestions");
  if (!items.length) { box.hidden = true; return; }
  box.replaceChildren(el("div", { class: "heading" }, heading), ...items.map((item, i) =>
    el("div", { class: `suggestion${i === 0 ? " active" : ""}`, role: "option", onmousedown: (e) => { e.preventDefault(); applySuggestion(i); } },
      el("span", { class: "name" }, item.name), item.required ? el("span", { class: "req" }, "required") : null, el("span", { class: "desc" }, item.desc))));
  box.hidden = false;
}

function quoteValue(value) { return /\s/.test(value) ? `"${value}"` : value; }
function replaceTail(text, tail, replacement) { return text.slice(0, text.length - tail.length) + replacement; }

let autocompleteTimer = null;
let autocompleteKey = "";
function requestAutocomplete(command, options, focused, value) {
  const key = `${command.path}|${focused}|${value}`;
  if (key === autocompleteKey) return;
  autocompleteKey = key;
  clearTimeout(autocompleteTimer);
  autocompleteTimer = setTimeout(async () => {
    const data = await post("/ui/autocomplete", { name: command.path, options: { ...options, [focused]: value }, focused });
    state.autocompleteChoices = data ? data.choices : [];
    refreshSuggestions();
  }, 250);
}

function applySuggestion(index) {
  const item = state.suggestion.items[index];
  if (!item) return;
  $("command-input").value = item.insert;
  $("command-input").focus();
  refreshSuggestions();
}

function renderAttachmentInputs(command) {
  const box = $("attachment-inputs");
  const wanted = command ? command.options.filter((o) => o.type === ATTACHMENT_OPTION) : [];
  const key = wanted.map((o) => o.name).join(",") + (command ? command.path : "");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(...wanted.map((o) => el("label", {}, `${o.name}${o.required ? " (required)" : ""}: `, el("input", { type: "file", "data-option": o.name }))));
  box.hidden = wanted.length === 0;
}

async function readFileOption(input) {
  const file = input.files[0];
  if (!file) return null;
  const buffer = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < buffer.length; i += 0x8000) binary += String.fromCharCode(...buffer.subarray(i, i + 0x8000));
  return [file.name, btoa(binary)];
}

async function submitComposer(event) {
  event.preventDefault();
  const input = $("command-input");
  const text = input.value.trim();
  if (!text) return;
  if (!text.startsWith("/")) {
    if (await post("/ui/message", { content: text })) input.value = "";
    return;
  }
  const parsed = parseInput(text);
  if (!parsed.command) { toast(`Unknown command ${text.split(/\s/)[0]}`); return; }
  const attachmentOptions = {};
  for (const fileInput of $("attachment-inputs").querySelectorAll("input[type=file]")) {
    const file = await readFileOption(fileInput);
    if (file) attachmentOptions[fileInput.dataset.option] = file;
  }
  const result = await post("/ui/command", { name: parsed.command.path, options: parsed.options, attachment_options: attachmentOptions });
  if (result) {
    input.value = "";
    refreshSuggestions();
  }
}

function onComposerKey(event) {
  const box = $("suggestions");
  const { items } = state.suggestion;
  if (box.hidden || !items.length) return;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    state.suggestion.active = (state.suggestion.active + step + items.length) % items.length;
    box.querySelectorAll(".suggestion").forEach((n, i) => n.classList.toggle("active", i === state.suggestion.active));
  } else if (event.key === "Tab" || (event.key === "Enter" && state.suggestion.enterApplies)) {
    event.preventDefault();
    applySuggestion(state.suggestion.active);
  } else if (event.key === "Escape") {
    box.hidden = true;
  }
}

// --- modals -----------------------------------------------------------------------------------

function modalFieldNode(input, labelText, description) {
  let control;
  if (input.type === 4) {
    const attrs = { "data-custom-id": input.custom_id, placeholder: input.placeholder || "", required: input.required !== false, maxlength: input.max_length, minlength: input.min_length };
    control = input.style === 2 ? el("textarea", attrs) : el("input", { ...attrs, type: "text" });
    control.value = input.value || "";
  } else if (input.type === 3) {
    control = el("select", { "data-custom-id": input.custom_id, multiple: (input.max_values || 1) > 1 }, (input.options || []).map((o) => el("option", { value: o.value, selected: o.default }, o.label)));
  } else {
    return null;
  }
  return el("label", {}, labelText || input.label || input.custom_id, description ? el("span", { style: "text-transform:none;font-weight:400" }, description) : null, control);
}

function openModal(interactionId, modal) {
  state.modalInteraction = interactionId;
  $("modal-title").textContent = modal.title;
  const fields = [];
  for (const top of modal.components || []) {
    if (top.type === 1) for (const c of top.components || []) fields.push(modalFieldNode(c, c.label));
    else if (top.type === 18) fields.push(modalFieldNode(top.component, top.label, top.description));
    else if (top.type === 10) fields.push(el("div", { class: "content" }, top.content));
  }
  $("modal-fields").replaceChildren(...fields.filter(Boolean));
  $("modal-backdrop").hidden = false;
  $("modal-fields").querySelector("input, textarea, select")?.focus();
}

async function submitModal(event) {
  event.preventDefault();
  const values = {};
  for (const control of $("modal-fields").querySelectorAll("[data-custom-id]")) {
    values[control.dataset.customId] = control.tagName === "SELECT" ? [...control.selectedOptions].map((o) => o.value) : control.value;
  }
  if (await post("/ui/modal", { interaction_id: state.modalInteraction, values })) closeModal();
}

function closeModal() {
  $("modal-backdrop").hidden = true;
  state.modalInteraction = null;
}

// --- wiring -----------------------------------------------------------------------------------

$("composer").addEventListener("submit", submitComposer);
$("command-input").addEventListener("input", refreshSuggestions);
$("command-input").addEventListener("keydown", onComposerKey);
$("command-input").addEventListener("blur", () => setTimeout(() => { $("suggestions").hidden = true; }, 150));
$("command-input").addEventListener("focus", refreshSuggestions);
$("user-switcher").addEventListener("change", (e) => switchUser(e.target.value));
$("modal-form").addEventListener("submit", submitModal);
$("modal-cancel").addEventListener("click", closeModal);
loadState();
