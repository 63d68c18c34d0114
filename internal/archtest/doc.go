// Package archtest holds tests of the code's shape rather than its
// behaviour: the storage seam (only internal/store talks to the database
// and knows which one it is on). It has no code of its own.
package archtest
