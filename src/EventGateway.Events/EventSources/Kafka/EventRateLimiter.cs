namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// <c>limitEventsPerSecond</c>: a token bucket on the injected clock, holding at most one second's
/// worth of events and starting full. Callers wait for tokens rather than lose events; messages stay
/// in Kafka meanwhile. Not thread-safe: one listener loop owns it.
/// </summary>
public sealed class EventRateLimiter
{
    private readonly double _perSecond;
    private readonly TimeProvider _time;
    private double _tokens;
    private long _refilledAt;

    public EventRateLimiter(long perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        _perSecond = perSecond;
        _time = time;
        _tokens = perSecond;
        _refilledAt = time.GetTimestamp();
    }

    /// <summary>Waits until at least one event may pass, then takes up to <paramref name="wanted"/>; returns how many were granted.</summary>
    public async ValueTask<int> AcquireAsync(int wanted, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wanted, 1);
        while (true)
        {
            Refill();
            if (_tokens >= 1)
            {
                var granted = (int)Math.Min(wanted, Math.Floor(_tokens));
                _tokens -= granted;
                return granted;
            }
            var wait = TimeSpan.FromSeconds((1 - _tokens) / _perSecond);
            await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, _time, ct).ConfigureAwait(false);
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_refilledAt, now).TotalSeconds;
        _refilledAt = now;
        _tokens = Math.Min(_perSecond, _tokens + elapsed * _perSecond);
    }
}
