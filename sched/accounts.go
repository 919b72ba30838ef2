package sched

import (
	"runtime"
	"sync"
	"weak"
)

// sharedAccounts gives all the sessions with the same key one account: the HTTP API's
// sessions are fresh for every request but share their client address's *calc.Budget, so
// keyed by it they also share the heavy time they use, and a flood of requests from one
// address does not look like many new sessions that have used nothing. An account is
// forgotten when its key is garbage collected: the map holds the keys weakly.
type sharedAccounts[K any] struct {
	mu sync.Mutex
	m  map[weak.Pointer[K]]*account
}

// get returns key's account, creating it at first use.
func (a *sharedAccounts[K]) get(key *K) *account {
	wp := weak.Make(key)
	a.mu.Lock()
	defer a.mu.Unlock()
	if acct, ok := a.m[wp]; ok {
		return acct
	}
	if a.m == nil {
		a.m = make(map[weak.Pointer[K]]*account)
	}
	acct := new(account)
	a.m[wp] = acct
	runtime.AddCleanup(key, a.forget, wp)
	return acct
}

func (a *sharedAccounts[K]) forget(wp weak.Pointer[K]) {
	a.mu.Lock()
	delete(a.m, wp)
	a.mu.Unlock()
}

func (a *sharedAccounts[K]) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m)
}
