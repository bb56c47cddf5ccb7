// A stand-in for the Gemini API on 127.0.0.1, so that the real Gemini CLI can
// run offline with no API key (GOOGLE_GEMINI_BASE_URL points it here). The
// "model" is a script: on its Nth turn it asks for the Nth list of tool calls,
// then says "done". Every request that offers tools is logged as one JSON line
// with the tools offered and the function responses the CLI sent back, which
// is what the CLI's own MCP client made of our server's answers.
//
// Usage: node gemini_api_stub.js <script.json> <log.jsonl>; prints the port.
// script.json: [[{"tool": "task_list", "args": {}}, ...], ...], one list a turn.
const http = require('http');
const fs = require('fs');

const [scriptFile, logFile] = process.argv.slice(2);
const turns = JSON.parse(fs.readFileSync(scriptFile, 'utf8'));

// Side requests (the CLI's router asks which model to use) want JSON of a
// schema: any value of the right shape will do.
function fill(schema) {
  const type = String(schema.type || '').toLowerCase();
  if (schema.enum) return schema.enum[0];
  if (type === 'object') {
    const out = {};
    for (const [key, inner] of Object.entries(schema.properties || {})) out[key] = fill(inner);
    return out;
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return 1;
  if (type === 'boolean') return false;
  return 'scripted';
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    let request = {};
    try {
      request = JSON.parse(body);
    } catch {}
    const config = request.generationConfig || {};
    let parts;
    if (request.tools) {
      const offered = request.tools.flatMap((t) => t.functionDeclarations || []).map((d) => d.name);
      const contents = request.contents || [];
      const turn = contents.filter((c) => c.role === 'model' && (c.parts || []).some((p) => p.functionCall)).length;
      const last = contents[contents.length - 1] || {};
      const responses = (last.parts || []).filter((p) => p.functionResponse).map((p) => p.functionResponse);
      fs.appendFileSync(logFile, JSON.stringify({ turn, offered, responses }) + '\n');
      // Gemini CLI names a server's tools mcp_<server>_<tool>.
      const named = (tool) => offered.find((name) => name.endsWith('_' + tool)) || tool;
      const calls = turns[turn];
      parts = calls
        ? calls.map((c) => ({ functionCall: { name: named(c.tool), args: c.args || {} } }))
        : [{ text: 'done' }];
    } else if (config.responseMimeType === 'application/json') {
      parts = [{ text: JSON.stringify(fill(config.responseJsonSchema || config.responseSchema || {})) }];
    } else {
      parts = [{ text: 'ok' }];
    }
    const answer = {
      candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 },
    };
    if (req.url.includes(':countTokens')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ totalTokens: 1 }));
    } else if (req.url.includes(':streamGenerateContent')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: ' + JSON.stringify(answer) + '\n\n');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
