// Package docker prepares and runs ferry's docker environments through the
// Docker Engine API (package engine, a small client of it, with API version
// negotiation, so Engine 20.10 (API 1.41) and Engine 29 (API >= 1.44) both
// work).
//
// Images: [Client.EnsureImage] returns a base image as it is (pulled only when
// missing locally), or builds a derived image once per [Key] (base image,
// Dockerfile content, build-context files, conda spec) with the classic
// builder, tags it ferry-env:<first 12 hex of the key> and labels it
// ferry.key=<key>. A later call with the same key finds the tag and builds
// nothing. Build errors are read from the build stream, not the API call.
// [Client.ListImages] and [Client.RemoveImage] list and remove those derived
// images (and only those: labelled with a key and tagged with its name).
//
// Containers: [Client.Run] runs one ferry run in a fresh container (the run's
// directory bind-mounted read-write, the caller's uid:gid, an init process,
// shm size, GPU device requests), appends its stdout and stderr to a log as
// they arrive, returns its exit code and removes the container.
// [Client.Stop] cancels a running one (SIGTERM, SIGKILL after a grace).
//
// Package imagespec holds the image description and key, and package
// runargs the docker run arguments, both without the Docker client.
//
// The package is a leaf: it imports nothing from the executor, so the
// executor wires it in, not the other way round.
package docker
