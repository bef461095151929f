using System.Diagnostics.CodeAnalysis;
using System.Threading.RateLimiting;

namespace EventGateway.Events.Sensors;

/// <summary>
/// A trigger's <c>rateLimit</c> as a <see cref="RateLimiter"/> on the injected clock: at most
/// <c>requestsPerUnit</c> firings in ANY window of one unit (an exact sliding window, so the burst is
/// requestsPerUnit and never more). The one waiter is the sensor's loop; events over the limit wait in
/// the durable log, not here, so the in-memory queue holds a single acquisition.
/// </summary>
public sealed class TriggerRateLimiter : RateLimiter
{
    public const int MaxRequestsPerUnit = 100_000;

    private readonly long[] _granted; // timestamps of the last N grants, a ring
    private readonly TimeSpan _unit;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private int _next;
    private long _count;
    private long _successful;
    private long _failed;

    public TriggerRateLimiter(int requestsPerUnit, TimeSpan unit, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerUnit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(requestsPerUnit, MaxRequestsPerUnit);
        _granted = new long[requestsPerUnit];
        _unit = unit;
        _time = time;
    }

    public static TimeSpan UnitOf(string? unit) => unit switch
    {
        null or "" or "Second" => TimeSpan.FromSeconds(1),
        "Minute" => TimeSpan.FromMinutes(1),
        "Hour" => TimeSpan.FromHours(1),
        _ => throw new ArgumentException($"rate limit unit '{unit}' is not one of Second, Minute, Hour"),
    };

    public int RequestsPerUnit => _granted.Length;

    /// <summary>As the Sensor writes it, e.g. <c>5/Second</c>.</summary>
    public override string ToString() => $"{RequestsPerUnit}/{(_unit.TotalSeconds switch { 1 => "Second", 60 => "Minute", _ => "Hour" })}";
    public TimeSpan Unit => _unit;

    public override TimeSpan? IdleDuration => null;

    public override RateLimiterStatistics GetStatistics() => new()
    {
        CurrentAvailablePermits = TryWaitTime(out _) ? 1 : 0,
        CurrentQueuedCount = 0,
        TotalSuccessfulLeases = Interlocked.Read(ref _successful),
        TotalFailedLeases = Interlocked.Read(ref _failed),
    };

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        if (permitCount != 1) throw new ArgumentOutOfRangeException(nameof(permitCount), "a firing takes one permit");
        lock (_lock)
        {
            if (TryWaitTime(out var retryAfter))
            {
                Grant();
                return Lease.Acquired;
            }
            Interlocked.Increment(ref _failed);
            return new Lease(false, retryAfter);
        }
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        while (true)
        {
            var lease = AttemptAcquireCore(permitCount);
            if (lease.IsAcquired) return lease;
            lease.TryGetMetadata(MetadataName.RetryAfter, out var wait);
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Counts firings made before this limiter existed (by the replica that owned the Sensor before a takeover), so
    /// the window holds across owners: the newest requestsPerUnit of them, at the times they fired.
    /// </summary>
    public void Seed(IEnumerable<DateTimeOffset> firedAt)
    {
        var now = _time.GetUtcNow();
        var stamp = _time.GetTimestamp();
        lock (_lock)
            foreach (var at in firedAt.Where(t => now - t < _unit).Order().TakeLast(_granted.Length))
            {
                _granted[_next] = stamp - (long)((now - at).TotalSeconds * _time.TimestampFrequency);
                _next = (_next + 1) % _granted.Length;
                Interlocked.Increment(ref _count);
            }
    }

    /// <summary>True when a grant is allowed now; otherwise how long until the oldest of the last N leaves the window.</summary>
    private bool TryWaitTime(out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (Interlocked.Read(ref _count) < _granted.Length) return true;
        var oldest = _granted[_next];
        var elapsed = _time.GetElapsedTime(oldest);
        if (elapsed >= _unit) return true;
        retryAfter = _unit - elapsed;
        return false;
    }

    private void Grant()
    {
        _granted[_next] = _time.GetTimestamp();
        _next = (_next + 1) % _granted.Length;
        Interlocked.Increment(ref _count);
        Interlocked.Increment(ref _successful);
    }

    private sealed class Lease(bool acquired, TimeSpan retryAfter) : RateLimitLease
    {
        public static readonly Lease Acquired = new(true, TimeSpan.Zero);

        public override bool IsAcquired { get; } = acquired;

        public override IEnumerable<string> MetadataNames => IsAcquired ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, [NotNullWhen(true)] out object? metadata)
        {
            metadata = !IsAcquired && metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
