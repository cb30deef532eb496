# Helm, built from the Go module proxy (helm.sh/helm/v3, scripts/kube/build.sh) and cached by version below
# $LACQUER_CACHE/helm; linked as $LACQUER_CACHE/bin/helm. The chart's tests (deploy/helm_test.ts) and
# `deno task deploy:render` use it. A background job that only the end of set-up waits for, at a lower priority
# (nice), so that it takes the cores the other builds leave idle and does not hold back the ones step images waits for.
# Cold: 165 CPU-seconds, 654 s wall beside the other builds on 2 cores shared with other test runs (load average about
# 20); 83 s wall alone on a lightly loaded machine.
start_job helm "$LACQUER_CACHE/logs/helm.log" nice -n 10 bash "$LACQUER_ROOT/scripts/kube/build.sh" helm
