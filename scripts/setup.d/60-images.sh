# The OCI images (images/README.md): the gateway and operator images and the cluster's own (pause, echo-basic,
# CoreDNS), written below $LACQUER_CACHE/images. Every layer is cached by the hash of its inputs, so a warm run only
# hashes the inputs. Needs the ghost VMOD (step ghost) and echo-basic's module (step kubernetes); the Debian base
# layers come from step image-bases when it ran in the background.
[ "$(type -t finish_image_bases)" = function ] && finish_image_bases 0
step "images: deno task images"
(cd "$LACQUER_ROOT" && "$LACQUER_DENO" run --allow-all images/main.ts) || die "building the images failed"
