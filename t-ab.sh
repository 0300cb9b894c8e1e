# usage: t-ab.sh N  — alternates /tmp/cli-orig and /tmp/cli-pife into dist/cli, runs t-profrun
for r in $(seq 1 $1); do
  for v in orig pife; do rm -rf dist/cli && cp -r /tmp/cli-$v dist/cli && touch -r /tmp/cli-$v/manifest.json dist/cli/manifest.json; echo -n "$v "; N=7 node t-profrun.ts; done
done
