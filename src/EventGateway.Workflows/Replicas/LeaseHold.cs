namespace EventGateway.Workflows.Replicas;

/// <summary>
/// One wanted lease as an <see cref="IOwnership"/> over a lease table keeps it (PostgreSQL's egw_leases, Kubernetes'
/// Lease objects): whether it is held, under which epoch, until when on this replica's clock, and the token cancelled
/// when the hold ends. The owner decides gains and losses; <paramref name="disposed"/> tells it the claim was given up
/// (whether it was held, and under which epoch), so it can hand the lease back.
/// </summary>
public sealed class LeaseHold(string name, Action changed, Func<bool>? idle, Action<LeaseHold, bool, long> disposed) : ILeaseClaim
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _hold = Cancelled();

    public string Name => name;
    public Func<bool>? Idle => idle;
    public bool Held { get; private set; }
    public long Epoch { get; private set; }
    /// <summary>This replica's timestamp after which it gives the hold up by itself (no renewal reached the table).</summary>
    public long? ValidUntil { get; set; }
    public bool Disposed { get; private set; }
    public CancellationToken Lost { get { lock (_gate) return _hold.Token; } }

    private static CancellationTokenSource Cancelled()
    {
        var c = new CancellationTokenSource();
        c.Cancel();
        return c;
    }

    public void Gain(long epoch, long validUntil)
    {
        lock (_gate)
        {
            (Held, Epoch, ValidUntil) = (true, epoch, validUntil);
            _hold = new CancellationTokenSource();
        }
        changed();
    }

    public void Lose()
    {
        CancellationTokenSource hold;
        lock (_gate)
        {
            if (!Held) return;
            (Held, ValidUntil, hold) = (false, null, _hold);
        }
        hold.Cancel();
        changed();
    }

    public void Dispose()
    {
        if (Disposed) return;
        Disposed = true;
        var (epoch, held) = (Epoch, Held);
        Lose();
        disposed(this, held, epoch);
    }
}
