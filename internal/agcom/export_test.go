package agcom

// The bounds of a handle, for the tests that compare them with the contract.
const (
	MinHandleLen = minHandleLen
	MaxHandleLen = maxHandleLen
)
