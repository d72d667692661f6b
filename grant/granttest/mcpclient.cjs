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
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = require("@modelcontextprotocol/sdk/client/stdio.js");
const readline = require("node:readline");

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
  const client = new Client({ name: argv[0], version: "1.0.0" });
  await client.connect(transport);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let out;
    try {
      const req = JSON.parse(line);
      out = req.list === "tools"
        ? await client.listTools()
        : await client.callTool({ name: req.tool, arguments: req.arguments || {} });
    } catch (err) {
      out = { protocolError: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
  await client.close();
}

main().catch((err) => {
  console.error("mcpclient:", err && err.stack ? err.stack : err);
  process.exit(1);
});
