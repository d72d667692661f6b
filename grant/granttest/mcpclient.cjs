// A line-driven MCP client on the official TypeScript SDK, for end-to-end
// tests and the demo: an MCP client that nobody on this project wrote the
// protocol side of.
//
//   node mcpclient.cjs CLIENT_NAME -- SERVER_BIN ARGS...
//
// It starts SERVER_BIN as a stdio MCP server with this process's whole
// environment, then reads one JSON request per stdin line,
//   {"tool": "grant_access", "arguments": {...}}   or   {"list": "tools"}
// and writes one JSON line per request to stdout: the CallToolResult (or the
// tools/list result), or {"protocolError": "..."}. EOF closes the session.
// {"info": true} answers {"protocolVersion": ...}: the version initialize
// negotiated.
//
// MCPCLIENT_ELICIT scripts a person answering form elicitations; unset (or
// "none") the client declares no elicitation capability:
//   accept               accept the form as shown: every field its default
//   accept:ttl=20m,...   accept with these fields changed (true/false for a
//                        boolean field)
//   decline | cancel     that action
// Each elicitation request is added, as {message, requestedSchema}, to the
// "elicitations" array of the next result line.
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = require("@modelcontextprotocol/sdk/client/stdio.js");
const { ElicitRequestSchema } = require("@modelcontextprotocol/sdk/types.js");
const readline = require("node:readline");

// answerForm answers one form elicitation as the MCPCLIENT_ELICIT mode says.
function answerForm(mode, params) {
  const [action, fields] = mode.split(/:(.*)/s);
  if (action !== "accept") return { action };
  const props = (params.requestedSchema && params.requestedSchema.properties) || {};
  const content = {};
  for (const [name, p] of Object.entries(props)) {
    if (p.default !== undefined) content[name] = p.default;
  }
  for (const kv of (fields || "").split(",").filter(Boolean)) {
    const [k, v] = kv.split(/=(.*)/s);
    content[k] = props[k] && props[k].type === "boolean" ? v === "true" : v;
  }
  return { action: "accept", content };
}

async function main() {
  const argv = process.argv.slice(2);
  const sep = argv.indexOf("--");
  if (sep !== 1 || argv.length < 3) {
    console.error("usage: node mcpclient.cjs CLIENT_NAME -- SERVER_BIN ARGS...");
    process.exit(2);
  }
  const transport = new StdioClientTransport({
    command: argv[2],
    args: argv.slice(3),
    env: process.env,
    stderr: "inherit",
  });
  let protocolVersion = "";
  // The client hands the negotiated version to transports that take it.
  transport.setProtocolVersion = (v) => { protocolVersion = v; };
  const mode = process.env.MCPCLIENT_ELICIT || "none";
  const capabilities = mode === "none" ? {} : { elicitation: { form: {} } };
  const client = new Client({ name: argv[0], version: "1.0.0" }, { capabilities });
  let elicitations = [];
  if (mode !== "none") {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      elicitations.push({ message: req.params.message, requestedSchema: req.params.requestedSchema });
      return answerForm(mode, req.params);
    });
  }
  await client.connect(transport);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let out;
    try {
      const req = JSON.parse(line);
      if (req.info) out = { protocolVersion };
      else if (req.list === "tools") out = await client.listTools();
      else out = await client.callTool({ name: req.tool, arguments: req.arguments || {} });
    } catch (err) {
      out = { protocolError: String(err && err.message ? err.message : err) };
    }
    if (elicitations.length > 0) {
      out = { ...out, elicitations };
      elicitations = [];
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
  await client.close();
}

main().catch((err) => {
  console.error("mcpclient:", err && err.stack ? err.stack : err);
  process.exit(1);
});
