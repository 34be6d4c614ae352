import FloeEncoding
import FloeProtocol

extension Communicator {
    /// Makes `locator` the default (nil: none), as Ice's `setDefaultLocator` does: it resolves
    /// indirect proxies without a locator of their own from now on, those made earlier included
    /// (in Ice a proxy keeps the default it was made with), and adapters created from now on
    /// register with it. What the old default answered is forgotten.
    public func setDefaultLocator(_ locator: (any ObjectPrx)?) {
        if let locator { remember(locator: locator._reference, always: true) }
        replaceDefaultLocator(locator?._reference.data)
    }

    /// The default locator (`Ice.Default.Locator`, or `setDefaultLocator`), nil without one.
    public func getDefaultLocator() -> (any ObjectPrx)? {
        defaultLocator.map { ObjectPrxI(_reference: locatorReference($0)) }
    }

    /// The locator that resolves `reference`: its own (`ice_locator`), else the communicator's
    /// (`Ice.Default.Locator`).
    func locator(for reference: ProxyReference) -> ProxyData? { reference.locator ?? defaultLocator }

    /// The endpoints of an indirect proxy: an adapter id (`name@adapter`) through
    /// `findAdapterById`, a well-known identity through `findObjectById` (whose answer may be
    /// indirect in turn). `fresh` says the locator was asked now, not the cache; `refresh`
    /// forgets what the cache had. What the locator answers that leaves no endpoints
    /// (`notRegistered`, `noEndpoint`) is an error of a request not sent, retried as Ice retries
    /// it (`Ice.RetryIntervals`).
    func resolve(_ reference: ProxyReference, refresh: Bool = false) async throws -> (
        endpoints: [EndpointData], fresh: Bool
    ) {
        let identity = reference.data.identity
        guard let locator = locator(for: reference) else {
            throw LocalError(
                .noEndpoint,
                "'\(describe(reference.data))' has no endpoints and no locator to find them (Ice.Default.Locator, ice_locator)"
            )
        }
        guard
            !locator.endpoints.isEmpty
                || collocatedAdapter(for: locatorReference(locator)) != nil
        else {
            // A locator cannot be located (Ice resolves it without a locator): asking the
            // default locator where it is would wait on its own lookup. One this process
            // serves is called in process.
            throw LocalError(
                .noEndpoint,
                "the locator '\(describe(locator))' has no endpoints, so '\(describe(reference.data))' cannot be located"
            )
        }
        let timeout = reference.locatorCacheTimeout ?? defaultLocatorCacheTimeout
        if !reference.data.adapterId.isEmpty {
            return try await resolveAdapter(
                reference.data.adapterId, locator: locator, key: reference.locator, timeout: timeout, refresh: refresh)
        }
        let key = LocatorCache.Key.object(locator: reference.locator, id: identity)
        if refresh {
            locatorCache.remove(key)
        } else if let cached = locatorCache.cached(key, timeout: Self.cacheDuration(timeout)), !cached.endpoints.isEmpty
        {
            return (cached.endpoints, false)
        }
        let calls = LocatorCalls(target: locatorReference(locator))
        let (found, fresh) = try await locatorCache.value(key, timeout: Self.cacheDuration(timeout)) {
            try await self.lookUpObject(identity, calls)
        }
        guard let found else { throw LocalError.notSent(.noEndpoint, "no answer for '\(identityToString(identity))'") }
        if !found.endpoints.isEmpty { return (found.endpoints, fresh) }
        do {
            // The endpoints are as fresh as the adapter's entry, whatever the object's.
            let adapter = try await resolveAdapter(
                found.adapterId, locator: locator, key: reference.locator, timeout: timeout, refresh: refresh)
            return (adapter.endpoints, adapter.fresh)
        } catch let error as LocalError where error.code == .notRegistered || error.code == .noEndpoint {
            // The adapter the object was at cannot be found: the object may have moved (its
            // server down, an operator pointed it at another adapter). Its entry goes, as in Ice,
            // and the call's retry (its request was not sent) asks for the object again: kept,
            // the entry failed every later call, even after the object had moved.
            locatorCache.remove(key)
            throw error
        }
    }

    /// `key`: the proxy's own locator, nil for the default one (see `LocatorCache.Key`).
    private func resolveAdapter(
        _ id: String, locator: ProxyData, key locatorKey: ProxyData?, timeout: Int, refresh: Bool
    )
        async throws -> (endpoints: [EndpointData], fresh: Bool)
    {
        let key = LocatorCache.Key.adapter(locator: locatorKey, id: id)
        if refresh {
            locatorCache.remove(key)
        } else if let cached = locatorCache.cached(key, timeout: Self.cacheDuration(timeout)) {
            return (cached.endpoints, false)
        }
        let calls = LocatorCalls(target: locatorReference(locator))
        let (found, fresh) = try await locatorCache.value(key, timeout: Self.cacheDuration(timeout)) {
            try await Self.lookUpAdapter(id, calls)
        }
        return (found?.endpoints ?? [], fresh)
    }

    /// `findObjectById`'s answer, or the error of a request not sent when it leaves no
    /// endpoints (see `resolve`). Thrown, not cached: a null or endpointless answer is asked
    /// again next time, as in Ice. (The lookup a call shares, in the foreground or not.)
    private func lookUpObject(_ identity: Identity, _ calls: LocatorCalls) async throws -> ProxyData {
        let proxy: ProxyData?
        do {
            proxy = try await calls.findObjectById(identity)
        } catch let error as LocatorCalls.FailureError where error.failure == .objectNotFound {
            throw LocalError.notSent(
                .notRegistered, "object '\(identityToString(identity))' is not registered with the locator")
        }
        guard let proxy, !(proxy.endpoints.isEmpty && proxy.adapterId.isEmpty) else {
            throw LocalError.notSent(
                .noEndpoint, "the locator knows object '\(identityToString(identity))' but not where it is")
        }
        return proxy
    }

    /// `findAdapterById`'s answer, as `lookUpObject`; a registered adapter that is not active
    /// (its server is down) answers null.
    private static func lookUpAdapter(_ id: String, _ calls: LocatorCalls) async throws -> ProxyData {
        let proxy: ProxyData?
        do {
            proxy = try await calls.findAdapterById(id)
        } catch let error as LocatorCalls.FailureError where error.failure == .adapterNotFound {
            throw LocalError.notSent(.notRegistered, "adapter '\(id)' is not registered with the locator")
        }
        guard let proxy, !proxy.endpoints.isEmpty else {
            throw LocalError.notSent(.noEndpoint, "adapter '\(id)' is registered but not active")
        }
        return proxy
    }

    /// The endpoints the cache already has for an indirect proxy, or nil: synchronous, so a
    /// call through an indirect proxy allocates no frames for it once resolved.
    func cachedEndpoints(_ reference: ProxyReference) -> [EndpointData]? {
        let timeout = Self.cacheDuration(reference.locatorCacheTimeout ?? defaultLocatorCacheTimeout)
        let key: LocatorCache.Key =
            reference.data.adapterId.isEmpty
            ? .object(locator: reference.locator, id: reference.data.identity)
            : .adapter(locator: reference.locator, id: reference.data.adapterId)
        if let cached = locatorCache.cached(key, timeout: timeout), !cached.endpoints.isEmpty {
            return cached.endpoints
        }
        // Expired: with Ice.BackgroundLocatorCacheUpdates, use it and ask the locator meanwhile.
        guard backgroundLocatorCacheUpdates, timeout != .zero, case .adapter(_, let id) = key,
            let locator = locator(for: reference), let stale = locatorCache.stale(key), !stale.endpoints.isEmpty
        else { return nil }
        refreshAdapterInBackground(id, key: key, locator: locator)
        return stale.endpoints
    }

    /// Asks the locator for adapter `id` (its entry `key`) without anyone waiting for it.
    private func refreshAdapterInBackground(_ id: String, key: LocatorCache.Key, locator: ProxyData) {
        let calls = LocatorCalls(target: locatorReference(locator))
        let cache = locatorCache
        // (The same lookup as in the foreground: a call may join it, and gets its errors.)
        cache.refreshInBackground(key) {
            do {
                return try await Self.lookUpAdapter(id, calls)
            } catch let error as LocalError where error.code == .notRegistered {
                // No longer registered: the stale entry goes, and the next call asks in the
                // foreground, as in Ice (kept, calls went on to the old endpoints for ever). An
                // inactive adapter's null answer is not stored over the entry: asked again.
                cache.remove(key)
                throw error
            }
        }
    }

    /// Asks the locator for well-known object `id` (its entry `key`) without anyone waiting.
    private func refreshObjectInBackground(_ id: Identity, key: LocatorCache.Key, locator: ProxyData) {
        let calls = LocatorCalls(target: locatorReference(locator))
        let cache = locatorCache
        cache.refreshInBackground(key) {
            do {
                return try await self.lookUpObject(id, calls)
            } catch let error as LocalError where error.code == .notRegistered {
                cache.remove(key)  // (as for an adapter, above)
                throw error
            }
        }
    }

    /// The endpoints of an indirect proxy's expired cache entry, when a connection to one of
    /// them is still open: the call goes there, and the locator is asked again in the
    /// background. In Ice a proxy keeps its connection and asks its locator only for a new
    /// one; here proxies have no connection of their own, and each call asked the locator once
    /// the entry had expired, so with the registry down every call failed with
    /// `locatorUnreachable` though the server's connection was fine. The background lookup
    /// keeps what Ice's new proxies see: a change (an object moved while its old server stays
    /// up) reaches the calls after it. Entries of a timeout of 0 are never kept, so those
    /// proxies ask every time.
    func expiredEndpointsStillConnected(_ reference: ProxyReference) -> [EndpointData]? {
        guard reference.connectionCached, (reference.locatorCacheTimeout ?? defaultLocatorCacheTimeout) > 0 else {
            return nil
        }
        let key: LocatorCache.Key =
            reference.data.adapterId.isEmpty
            ? .object(locator: reference.locator, id: reference.data.identity)
            : .adapter(locator: reference.locator, id: reference.data.adapterId)
        guard var found = locatorCache.stale(key) else { return nil }
        if found.endpoints.isEmpty, !found.adapterId.isEmpty {
            guard let adapter = locatorCache.stale(.adapter(locator: reference.locator, id: found.adapterId)) else {
                return nil
            }
            found = adapter
        }
        guard openConnection(among: found.endpoints, reference) != nil,
            let locator = locator(for: reference)
        else { return nil }
        let timeout = Self.cacheDuration(reference.locatorCacheTimeout ?? defaultLocatorCacheTimeout)
        switch key {
        case .adapter(_, let id): refreshAdapterInBackground(id, key: key, locator: locator)
        case .object(_, let id):
            if locatorCache.cached(key, timeout: timeout) == nil {
                refreshObjectInBackground(id, key: key, locator: locator)
            }
            if let adapterId = locatorCache.stale(key)?.adapterId, !adapterId.isEmpty {
                let adapterKey = LocatorCache.Key.adapter(locator: reference.locator, id: adapterId)
                if locatorCache.cached(adapterKey, timeout: timeout) == nil {
                    refreshAdapterInBackground(adapterId, key: adapterKey, locator: locator)
                }
            }
        }
        return found.endpoints
    }

    /// Forgets where an indirect proxy's object was (it was not there): the next call asks the
    /// locator again.
    /// A well-known object's entry goes with the adapter entry it led to, as in Ice's
    /// `clearCache`: the object is registered where it was, and the adapter moved.
    func forgetLocation(of reference: ProxyReference) {
        if !reference.data.adapterId.isEmpty {
            locatorCache.remove(.adapter(locator: reference.locator, id: reference.data.adapterId))
        } else if let found = locatorCache.remove(.object(locator: reference.locator, id: reference.data.identity)),
            !found.adapterId.isEmpty
        {
            locatorCache.remove(.adapter(locator: reference.locator, id: found.adapterId))
        }
    }

    /// Ice's cache timeout in seconds as a duration: -1 (or less) forever (nil), 0 no caching.
    static func cacheDuration(_ seconds: Int) -> Duration? { seconds < 0 ? nil : .seconds(seconds) }

    private func describe(_ data: ProxyData) -> String {
        identityToString(data.identity) + (data.adapterId.isEmpty ? "" : " @ \(data.adapterId)")
    }
}
