-- socketlab.lua: a Wireshark dissector for socketlab protocol v1 (docs/protocol.md).
--
-- Every message travels in a frame: a 4-byte big-endian length, then the body.
-- The handshake (hello, server_hello) and every frame of a "plain" session are
-- JSON, decoded here with Wireshark's own JSON dissector. After a "box"
-- handshake each body is sealed:
--
--   nonce (24) = direction (1: 'C' client->server, 'S' server->client)
--                || 15 zero bytes || counter (8, big-endian)
--   MAC (16)   = Poly1305
--   ciphertext = XSalsa20 of one or more inner frames (a batch), as long as them
--
-- Frames are reassembled across TCP segments (dissect_tcp_pdus). Wireshark
-- cannot decrypt sealed frames; `socketlab read FILE --keylog keys.log` can.
--
-- End-to-end whispers (protocol section 11) show where their JSON does (a
-- plain session): the lookup, the user's key bundle, and each e2e_whisper /
-- e2e_message with its box shown as what it is, a box only the two users can
-- open. Opening one needs X25519 and XSalsa20-Poly1305, which Wireshark's Lua
-- does not have: the inspector opens them with a client's SOCKETLAB_E2E line.
--
-- Install: `socketlab wireshark` prints the folder (Wireshark's personal Lua
-- plugins folder) and this file's path. Conversations are found by their first
-- bytes (a frame holding {"type":"hello"...), whatever the port, and on the
-- port set in Edit > Preferences > Protocols > SOCKETLAB (default 7777).

local socketlab = Proto("socketlab", "socketlab chat protocol")

local HEADER = 4
local NONCE = 24
local MAC = 16
local MAX_FRAME = 65536

local directions = { [0x43] = "C: client to server", [0x53] = "S: server to client" }

local f = socketlab.fields
f.length = ProtoField.uint32("socketlab.length", "Body length", base.DEC)
f.kind = ProtoField.string("socketlab.kind", "Kind")
f.type = ProtoField.string("socketlab.type", "Message type")
f.json = ProtoField.string("socketlab.json", "JSON")
f.mode = ProtoField.string("socketlab.mode", "Mode")
f.key = ProtoField.string("socketlab.key", "Ephemeral X25519 key")
f.nonce = ProtoField.bytes("socketlab.nonce", "Nonce")
f.direction = ProtoField.uint8("socketlab.nonce.direction", "Direction", base.HEX, directions)
f.padding = ProtoField.bytes("socketlab.nonce.padding", "Padding (zero)")
f.counter = ProtoField.uint64("socketlab.nonce.counter", "Counter", base.DEC)
f.mac = ProtoField.bytes("socketlab.mac", "MAC (Poly1305)")
f.ciphertext = ProtoField.bytes("socketlab.ciphertext", "Ciphertext")
f.ciphertext_len = ProtoField.uint32("socketlab.ciphertext.length", "Ciphertext length", base.DEC)
f.name = ProtoField.string("socketlab.name", "Name")
f.from = ProtoField.string("socketlab.from", "From")
f.to = ProtoField.string("socketlab.to", "To")
f.code = ProtoField.string("socketlab.error.code", "Error code")
f.e2e_key = ProtoField.string("socketlab.e2e.key", "End-to-end X25519 key")
f.e2e_identity = ProtoField.string("socketlab.e2e.identity", "User identity (Ed25519)")
f.e2e_signature = ProtoField.string("socketlab.e2e.signature", "Bundle signature")
f.e2e_nonce = ProtoField.string("socketlab.e2e.nonce", "Box nonce (random)")
f.e2e_box = ProtoField.string("socketlab.e2e.box", "Box")
f.e2e_box_len = ProtoField.uint32("socketlab.e2e.box.length", "Box length", base.DEC)

local e_bad_nonce = ProtoExpert.new("socketlab.bad_nonce", "Nonce does not follow the protocol",
                                    expert.group.MALFORMED, expert.severity.WARN)
local e_too_large = ProtoExpert.new("socketlab.too_large", "Frame longer than 65,536 bytes",
                                    expert.group.MALFORMED, expert.severity.ERROR)
local e_empty = ProtoExpert.new("socketlab.empty", "Frame of length 0",
                                expert.group.MALFORMED, expert.severity.ERROR)
local e_bad_box = ProtoExpert.new("socketlab.e2e.bad_box", "Box is not 16 to 16,400 bytes in hex",
                                  expert.group.MALFORMED, expert.severity.WARN)
socketlab.experts = { e_bad_nonce, e_too_large, e_empty, e_bad_box }

socketlab.prefs.port = Pref.uint("TCP port", 7777, "The server's port")

local json = Dissector.get("json")

local function frame_length(tvb, pinfo, offset)
    return HEADER + tvb(offset, HEADER):uint()
end

-- A string member's value and where it sits in the body (0-based offset,
-- length), or nil. Enough for the names, codes and hex of socketlab's
-- messages, which hold no escaped quotes.
local function member(text, name)
    local first, last, value = text:find('"' .. name .. '"%s*:%s*"([^"]*)"')
    if not first then return nil end
    return value, last - #value - 1, #value
end

local function field(text, name)
    return (member(text, name))
end

-- Adds the member ``name`` as ``pf``; returns its value.
local function add_member(tree, body, text, pf, name)
    local value, offset, length = member(text, name)
    if value then tree:add(pf, body(offset, math.max(length, 1)), value) end
    return value
end

local function add_bundle(tree, body, text, prefix)
    add_member(tree, body, text, f.e2e_key, prefix .. "key")
    add_member(tree, body, text, f.e2e_identity, prefix .. "identity")
    add_member(tree, body, text, f.e2e_signature, prefix .. "signature")
end

-- The box is shown as what it is: sealed for the recipient, opaque to the
-- server and to anyone holding the transport keys.
local function add_box(tree, body, text)
    add_member(tree, body, text, f.e2e_nonce, "nonce")
    local hex, offset, length = member(text, "box")
    if not hex then return "no box" end
    local size = math.floor(#hex / 2)
    local shown = string.format("end-to-end: %d bytes, the server cannot read it", size)
    local range = body(offset, math.max(length, 1))
    local item = tree:add(f.e2e_box, range, shown)
    item:add(f.e2e_box_len, range, size)
    if #hex % 2 ~= 0 or hex:find("[^0-9a-f]") or size < 16 or size > 16400 then
        item:add_proto_expert_info(e_bad_box)
    end
    return shown
end

-- What the Info column says about one message (the type, and for the
-- messages of names and end-to-end whispers, who and what).
local function describe(kind, body, tree, text)
    if kind == "hello" or kind == "server_hello" then
        local mode = field(text, "mode")
        if mode then tree:add(f.mode, body, mode) end
        local key = field(text, "key")
        if key then tree:add(f.key, body, key) end
        return kind
    elseif kind == "login" then
        local name = add_member(tree, body, text, f.name, "name") or "?"
        if field(text, "e2e_key") then
            add_bundle(tree, body, text, "e2e_")
            return string.format("login %s, with an end-to-end key", name)
        end
        return "login " .. name
    elseif kind == "welcome" or kind == "lookup" or kind == "joined" or kind == "left" then
        return kind .. " " .. (add_member(tree, body, text, f.name, "name") or "?")
    elseif kind == "user_key" then
        local name = add_member(tree, body, text, f.name, "name") or "?"
        add_bundle(tree, body, text, "")
        return "user_key " .. name
    elseif kind == "e2e_whisper" then
        local to = add_member(tree, body, text, f.to, "to") or "?"
        return string.format("e2e_whisper to %s, %s", to, add_box(tree, body, text))
    elseif kind == "e2e_message" then
        local from = add_member(tree, body, text, f.from, "from") or "?"
        local to = add_member(tree, body, text, f.to, "to") or "?"
        add_bundle(tree, body, text, "")
        return string.format("e2e_message %s \226\134\146 %s, %s", from, to,
                             add_box(tree, body, text))
    elseif kind == "error" then
        return "error " .. (add_member(tree, body, text, f.code, "code") or "?")
    end
    return kind
end

local function dissect_json(body, pinfo, tree)
    local text = body:string(ENC_UTF_8)
    local kind = field(text, "type") or "?"
    tree:add(f.kind, body, "plaintext JSON")
    tree:add(f.type, body, kind)
    local summary = describe(kind, body, tree, text)
    tree:add(f.json, body, text)
    json:call(body:tvb(), pinfo, tree)
    return summary
end

local function dissect_sealed(body, tree)
    local sealed = tree:add(f.kind, body, "sealed (encrypted)")
    local nonce = tree:add(f.nonce, body(0, NONCE))
    local direction = body(0, 1):uint()
    nonce:add(f.direction, body(0, 1))
    nonce:add(f.padding, body(1, 15))
    local counter = body(16, 8):uint64()
    nonce:add(f.counter, body(16, 8))
    local padded = true
    for i = 1, 15 do
        if body(i, 1):uint() ~= 0 then padded = false end
    end
    if not padded or directions[direction] == nil then
        nonce:add_proto_expert_info(e_bad_nonce)
    end
    tree:add(f.mac, body(NONCE, MAC))
    local length = body:len() - NONCE - MAC
    if length > 0 then
        tree:add(f.ciphertext, body(NONCE + MAC, length))
    end
    tree:add(f.ciphertext_len, body(NONCE + MAC, math.max(length, 0)), length)
    sealed:append_text(string.format(" %s #%s", string.char(direction), tostring(counter)))
    return string.format("sealed %s#%s, %d B", string.char(direction), tostring(counter), length)
end

local function dissect_frame(tvb, pinfo, tree)
    local length = tvb(0, HEADER):uint()
    local item = tree:add(socketlab, tvb(), "socketlab frame")
    local len_item = item:add(f.length, tvb(0, HEADER))
    local summary
    if length == 0 then
        len_item:add_proto_expert_info(e_empty)
        summary = "empty frame"
    else
        local body = tvb(HEADER, length)
        local first = body(0, 1):uint()
        if first == 0x7b then -- '{': a JSON body (the handshake, or a plain session)
            summary = dissect_json(body, pinfo, item)
        elseif length >= NONCE + MAC then
            summary = dissect_sealed(body, item)
        else
            item:add(f.kind, body, "unknown")
            summary = "unknown"
        end
    end
    item:append_text(": " .. summary)
    pinfo.cols.protocol = "socketlab"
    local info = tostring(pinfo.cols.info)
    if info:find("^socketlab") then
        pinfo.cols.info:append(", " .. summary)
    else
        pinfo.cols.info = "socketlab: " .. summary
    end
    return tvb:len()
end

function socketlab.dissector(tvb, pinfo, tree)
    local available = tvb:len()
    if available >= HEADER and tvb(0, HEADER):uint() > MAX_FRAME then
        local item = tree:add(socketlab, tvb(), "socketlab (not a frame)")
        item:add(f.length, tvb(0, HEADER)):add_proto_expert_info(e_too_large)
        return available
    end
    dissect_tcp_pdus(tvb, tree, HEADER, frame_length, dissect_frame)
    return available
end

-- A conversation is socketlab's if its first frame is a client's hello. The
-- first segment may hold only part of it (a sender that writes byte by byte):
-- then what is there must begin the hello.
local HELLO = '{"type":"hello"'
local SMALLEST_HELLO = 40 -- {"type":"hello","version":1,"mode":"plain"} is 43
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < HEADER + 1 then return false end
    local length = tvb(0, HEADER):uint()
    if length < SMALLEST_HELLO or length > MAX_FRAME then return false end
    local seen = math.min(tvb:len() - HEADER, #HELLO)
    if tvb(HEADER, seen):string() ~= HELLO:sub(1, seen) then return false end
    pinfo.conversation = socketlab -- the rest of the conversation comes straight to us
    if tvb:len() < HEADER + length then
        -- dissect_tcp_pdus cannot ask TCP for more from a heuristic call: ask here.
        pinfo.desegment_offset = 0
        pinfo.desegment_len = HEADER + length - tvb:len()
        return true
    end
    socketlab.dissector(tvb, pinfo, tree)
    return true
end

socketlab:register_heuristic("tcp", heuristic)

local registered = nil
local function register_port()
    local ports = DissectorTable.get("tcp.port")
    if registered then ports:remove(registered, socketlab) end
    registered = socketlab.prefs.port
    if registered ~= 0 then ports:add(registered, socketlab) end
end
socketlab.prefs_changed = register_port
register_port()
