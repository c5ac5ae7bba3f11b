import HTTPServer

/// The Lua scripts behind `RedisJobStore`: every state change of a job is one script, so it is
/// atomic in Redis whichever server runs it, and guarded by the job's current lease.
///
/// Keys (prefix `P`): `P:job:ID` (hash: type, params, key, status, attempts, cancel, lease,
/// result, error, created, started, finished, queue, entry), `P:events:ID` (stream of `e`/`d`
/// pairs), `P:queue:TYPE:MODEL` (stream of job ids, one consumer group), `P:idem:KEY` (job id),
/// `P:recent` (sorted set of the latest job ids by submission, for listing), `P:sequence`.
enum RedisJobScripts {
    /// Helpers shared by the scripts.
    private static let preamble = """
        local function expireAll(job, events, ttl, prefix)
          if tonumber(ttl) > 0 then
            redis.call('PEXPIRE', job, ttl)
            redis.call('PEXPIRE', events, ttl)
            local k = redis.call('HGET', job, 'key')
            if k and k ~= '' then redis.call('PEXPIRE', prefix .. 'idem:' .. k, ttl) end
          end
        end
        local function drop(queue, group, entry)
          if entry and entry ~= '' then
            redis.call('XACK', queue, group, entry)
            redis.call('XDEL', queue, entry)
          end
        end
        local function settle(job, events, status, field, value, now, ttl, prefix)
          redis.call('HSET', job, 'status', status, 'finished', now)
          if field then redis.call('HSET', job, field, value) end
          local name = status
          if status == 'succeeded' then name = 'done' end
          redis.call('XADD', events, '*', 'e', name, 'd', value or '')
          expireAll(job, events, ttl, prefix)
        end

        """

    /// KEYS: idem (or the job key when there is none), job, queue, events, recent.
    /// ARGV: id, type, params, idempotency key or '', now, prefix, how many recent jobs to index.
    /// Returns {1, id} for a new job, {0, existing id} when the key is taken.
    static let submit =
        preamble + """
            if ARGV[4] ~= '' then
              local existing = redis.call('GET', KEYS[1])
              if existing and redis.call('EXISTS', ARGV[6] .. 'job:' .. existing) == 1 then return {0, existing} end
              redis.call('SET', KEYS[1], ARGV[1])
            end
            -- Submission order for listing: a counter, not the clock (ties, servers' clocks).
            redis.call('ZADD', KEYS[5], redis.call('INCR', ARGV[6] .. 'sequence'), ARGV[1])
            redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -1 - tonumber(ARGV[7]))
            local entry = redis.call('XADD', KEYS[3], '*', 'id', ARGV[1])
            redis.call('HSET', KEYS[2], 'type', ARGV[2], 'params', ARGV[3], 'key', ARGV[4], 'status', 'queued',
                       'attempts', '0', 'cancel', '0', 'created', ARGV[5], 'queue', KEYS[3], 'entry', entry)
            redis.call('XADD', KEYS[4], '*', 'e', 'queued', 'd', '')
            return {1, ARGV[1]}
            """

    /// Starts the job of a queue entry this consumer just read (or reclaimed from a dead one).
    /// KEYS: job, events, queue. ARGV: entry, lease, now, max attempts, group, ttl ms,
    /// reclaimed ('1'/'0'), give-up message, prefix.
    /// Returns {'started', HGETALL} or {'skip'} (cancelled, gave up, stale or gone: acknowledged).
    static let claim =
        preamble + """
            local s = redis.call('HMGET', KEYS[1], 'status', 'cancel', 'attempts', 'entry')
            if not s[1] or s[4] ~= ARGV[1] then
              drop(KEYS[3], ARGV[5], ARGV[1])
              return {'skip'}
            end
            if s[1] == 'queued' or (s[1] == 'running' and ARGV[7] == '1') then
              if s[2] == '1' then
                settle(KEYS[1], KEYS[2], 'cancelled', nil, nil, ARGV[3], ARGV[6], ARGV[9])
                drop(KEYS[3], ARGV[5], ARGV[1])
                return {'skip'}
              end
              local attempts = tonumber(s[3])
              if s[1] == 'running' and attempts >= tonumber(ARGV[4]) then
                settle(KEYS[1], KEYS[2], 'failed', 'error', ARGV[8], ARGV[3], ARGV[6], ARGV[9])
                drop(KEYS[3], ARGV[5], ARGV[1])
                return {'skip'}
              end
              redis.call('HSET', KEYS[1], 'status', 'running', 'attempts', tostring(attempts + 1), 'started', ARGV[3],
                         'lease', ARGV[2])
              redis.call('XADD', KEYS[2], '*', 'e', 'started', 'd', tostring(attempts + 1))
              return {'started', redis.call('HGETALL', KEYS[1])}
            end
            if s[1] == 'running' then return {'skip'} end
            drop(KEYS[3], ARGV[5], ARGV[1])
            return {'skip'}
            """

    /// Records the outcome under `lease`: the one write of a job's result. Cancel wins.
    /// KEYS: job, events, queue. ARGV: lease, status, result, message, now, ttl ms, group, prefix.
    /// Returns {'ok', HGETALL}, {'already', HGETALL} (this lease finished it before: a retry
    /// after a lost reply) or {'lost', status}.
    static let finish =
        preamble + """
            local s = redis.call('HMGET', KEYS[1], 'status', 'lease', 'cancel', 'entry')
            if not s[1] or s[2] ~= ARGV[1] then return {'lost', s[1] or ''} end
            if s[1] ~= 'running' then return {'already', redis.call('HGETALL', KEYS[1])} end
            local status = ARGV[2]
            if s[3] == '1' then status = 'cancelled' end
            if status == 'succeeded' then
              settle(KEYS[1], KEYS[2], status, 'result', ARGV[3], ARGV[5], ARGV[6], ARGV[8])
            elseif status == 'failed' then
              settle(KEYS[1], KEYS[2], status, 'error', ARGV[4], ARGV[5], ARGV[6], ARGV[8])
            else
              settle(KEYS[1], KEYS[2], 'cancelled', nil, nil, ARGV[5], ARGV[6], ARGV[8])
            end
            drop(KEYS[3], ARGV[7], s[4])
            return {'ok', redis.call('HGETALL', KEYS[1])}
            """

    /// Gives a leased job back: a new queue entry (the old one is acknowledged), attempt not
    /// counted; cancelled instead when a cancel was requested.
    /// KEYS: job, events, queue. ARGV: lease, now, ttl ms, group, prefix, job id.
    static let requeue =
        preamble + """
            local s = redis.call('HMGET', KEYS[1], 'status', 'lease', 'cancel', 'entry', 'attempts')
            if not s[1] or s[2] ~= ARGV[1] or s[1] ~= 'running' then return {'lost', s[1] or ''} end
            drop(KEYS[3], ARGV[4], s[4])
            if s[3] == '1' then
              settle(KEYS[1], KEYS[2], 'cancelled', nil, nil, ARGV[2], ARGV[3], ARGV[5])
            else
              local entry = redis.call('XADD', KEYS[3], '*', 'id', ARGV[6])
              redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', tostring(math.max(0, tonumber(s[5]) - 1)),
                         'entry', entry)
              redis.call('HDEL', KEYS[1], 'started', 'lease')
              redis.call('XADD', KEYS[2], '*', 'e', 'queued', 'd', '')
            end
            return {'ok', redis.call('HGETALL', KEYS[1])}
            """

    /// KEYS: job, events. ARGV: lease, story paragraph JSON. Adds a `paragraph` event while the
    /// lease owns the job.
    static let paragraph = """
        local s = redis.call('HMGET', KEYS[1], 'status', 'lease')
        if s[1] ~= 'running' or s[2] ~= ARGV[1] then return 0 end
        redis.call('XADD', KEYS[2], '*', 'e', 'paragraph', 'd', ARGV[2])
        return 1
        """

    /// Appends generated text while `lease` still owns the job. KEYS: job, events. ARGV: lease, text.
    static let token = """
        local s = redis.call('HMGET', KEYS[1], 'status', 'lease')
        if s[1] ~= 'running' or s[2] ~= ARGV[1] then return 0 end
        redis.call('XADD', KEYS[2], '*', 'e', 'token', 'd', ARGV[2])
        return 1
        """

    /// KEYS: job, events. ARGV: now, ttl ms, group, prefix.
    /// A queued job is cancelled at once (its queue entry deleted); a running one is flagged.
    static let cancel =
        preamble + """
            local s = redis.call('HMGET', KEYS[1], 'status', 'queue', 'entry')
            if not s[1] then return {'none'} end
            if s[1] == 'queued' then
              settle(KEYS[1], KEYS[2], 'cancelled', nil, nil, ARGV[1], ARGV[2], ARGV[4])
              if s[2] and s[3] then redis.call('XDEL', s[2], s[3]) end
            elseif s[1] == 'running' then
              redis.call('HSET', KEYS[1], 'cancel', '1')
            end
            return {'ok', redis.call('HGETALL', KEYS[1])}
            """

    /// Gives back a fresh entry this consumer read but will not run: acknowledged and added again
    /// at the end of its queue. KEYS: job, queue. ARGV: entry, group, job id.
    static let release = """
        local s = redis.call('HMGET', KEYS[1], 'status', 'entry')
        if s[1] == 'running' or s[2] ~= ARGV[1] then return 0 end
        redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])
        redis.call('XDEL', KEYS[2], ARGV[1])
        if s[1] == 'queued' then
          local entry = redis.call('XADD', KEYS[2], '*', 'id', ARGV[3])
          redis.call('HSET', KEYS[1], 'entry', entry)
        end
        return 1
        """

    /// Resets the idle time of a running job's queue entry, only while `lease` still owns the job
    /// (renewing an entry another server took over would take it back from under it).
    /// KEYS: job, queue. ARGV: lease, group, consumer, entry. Returns 1, or 0 when the lease is gone.
    static let renew = """
        if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
        redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'JUSTID')
        return 1
        """
}
