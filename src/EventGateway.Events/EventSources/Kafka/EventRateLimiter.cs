namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// <c>limitEventsPerSecond</c>: a token bucket on the injected clock, holding at most one second's
/// worth of events and starting full. Callers wait for tokens rather than lose events; messages stay
/// in Kafka meanwhile. In a consumer group the limit is the group's: each member applies the share of it
/// that its partitions are of the topic's (<see cref="ShareOut"/>), so replicas together never exceed it.
/// </summary>
public sealed class EventRateLimiter
{
    private readonly long _limit;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private double _perSecond;
    private double _tokens;
    private long _refilledAt;

    public EventRateLimiter(long perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        _limit = perSecond;
        _perSecond = perSecond;
        _time = time;
        _tokens = perSecond;
        _refilledAt = time.GetTimestamp();
    }

    /// <summary>The rate this member applies now (the whole limit, or its partitions' share of it).</summary>
    public double PerSecond { get { lock (_gate) return _perSecond; } }

    /// <summary>
    /// Applies <paramref name="assigned"/> of the topic's <paramref name="total"/> partitions' share of the limit. A member
    /// with none keeps one partition's share rather than zero, so a batch polled before its partitions were revoked still
    /// drains (its offsets are refused and Kafka redelivers it to the new owner, at most once more per rebalance).
    /// </summary>
    public void ShareOut(int assigned, int total)
    {
        lock (_gate)
        {
            Refill();
            _perSecond = total <= 0 ? _limit : _limit * (double)Math.Clamp(Math.Max(assigned, 1), 1, total) / total;
            _tokens = Math.Min(_tokens, Capacity);
        }
    }

    /// <summary>Waits until at least one event may pass, then takes up to <paramref name="wanted"/>; returns how many were granted.</summary>
    public async ValueTask<int> AcquireAsync(int wanted, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wanted, 1);
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                Refill();
                if (_tokens >= 1)
                {
                    var granted = (int)Math.Min(wanted, Math.Floor(_tokens));
                    _tokens -= granted;
                    return granted;
                }
                wait = TimeSpan.FromSeconds((1 - _tokens) / _perSecond);
            }
            await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, _time, ct).ConfigureAwait(false);
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_refilledAt, now).TotalSeconds;
        _refilledAt = now;
        _tokens = Math.Min(Capacity, _tokens + elapsed * _perSecond);
    }

    /// <summary>A second's worth, and never less than one event (a share below 1/s must still let one through).</summary>
    private double Capacity => Math.Max(_perSecond, 1);
}
