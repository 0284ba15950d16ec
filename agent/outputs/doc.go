// Package outputs keeps a run's downloaded outputs on the laptop in a
// content-addressed store and recreates output trees from it.
//
// Blobs live at <dir>/<first two hex digits>/<sha256 hex> (the executor's
// layout), normally under $FERRY_HOME/blobs, so an output produced by many
// runs (a checkpoint that did not change, a shared vocabulary file) is
// downloaded and stored once. Put verifies every blob's hash before it
// becomes visible; Materialize copies blobs into a directory confined with
// os.Root, so a hostile output path cannot write outside it.
package outputs
