package conda

// maxTail is how much of a failed build's output goes into its error.
const maxTail = 2048
