# The OCI images (images/README.md): the gateway and operator images and the cluster's own (pause, echo-basic,
# CoreDNS), written below $LACQUER_CACHE/images. Every layer is cached by the hash of its inputs, so a warm run only
# hashes the inputs. Needs the ghost VMOD (step ghost), echo-basic's module and CoreDNS (step kubernetes, its job
# cluster-tools) and the Debian base layers (step image-bases), waiting for the background jobs that build them.
wait_job cluster-tools
wait_job image-bases
[ -z "${setup_job_logs[image-bases]:-}" ] || step "$(tail -n 1 "${setup_job_logs[image-bases]}")"
step "images: deno task images"
(cd "$LACQUER_ROOT" && "$LACQUER_DENO" run --allow-all images/main.ts) || die "building the images failed"
