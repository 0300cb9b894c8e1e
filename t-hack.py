import glob,re
M=lambda w: 'process.stderr.write(`T %s ${(Date.now()-performance.timeOrigin).toFixed(1)}\\n`);' % w
p='dist/cli/orchestrate.js'; s=open(p).read()
s=s.replace('var { runCli }','const T0=performance.timeOrigin; const mark=(w)=>process.stderr.write(`T ${w} ${(Date.now()-T0).toFixed(1)}\\n`); mark("main"); const dc = await import("node:diagnostics_channel"); for (const ch of ["undici:request:create","undici:client:beforeConnect","undici:client:connected","undici:client:sendHeaders","undici:request:headers","undici:request:trailers"]) dc.subscribe(ch, (m) => mark(ch.replace("undici:","") + " " + (m.request?.path ?? "")));\nvar { runCli }')
s=s.replace('beforeRun: slowWasmTierUp }','beforeRun: () => { mark("beforeRun"); slowWasmTierUp(); } }')
s=s.replace('  if (outcome.stdout)','  mark("result"); if (outcome.stdout)')
s=s.replace('} catch (error) {\n  process.stderr','  mark("closed");\n} catch (error) {\n  process.stderr')
s=s.replace('process.exit(exitCode);','process.on("exit",()=>mark("exit")); process.exit(exitCode);')
open(p,'w').write(s)
p=glob.glob('dist/cli/run-parts-*.js')[0]; s=open(p).read()
for old,w in [('    const { startedAt, deadline } = startAttempt(run, attempt);\n','attempt-start'),('    const watch = handoffs();\n    const waitControl','before-handoffs'),('      const health = await checkHealth(run);','before-health')]:
    assert old in s, old
    s=s.replace(old, M(w)+old,1)
s=re.sub(r'(const \{ watch \} = await import\("./chokidar-[A-Z0-9]+\.js"\);)', M('chokidar-load')+r'\1'+M('chokidar-loaded'), s)
s=s.replace('w.once("ready", () => resolve())','w.once("ready", () => { %s resolve(); })' % M('chokidar-ready'))
open(p,'w').write(s)
p=glob.glob('dist/cli/run-cli-*.js')[0]; s=open(p).read()
for old,w in [('  await import("./zod-jitless','zod-start'),('  const [dotenv, parts] = await','zod-done'),('  return {\n    ...parts,','parts-done'),('  const log = createLogger(','config-done'),('    const running = createEngine(','logger-done'),('    if (options.contextPath !== void 0 || options.channelContext','engine-done'),('  let options;\n','runCli-start')]:
    assert old in s, old
    s=s.replace(old, M(w)+old,1)
open(p,'w').write(s)
