namespace EventGateway.Workflows.Replicas;

/// <summary>
/// Who does which exclusive work when several replicas share one store and bus: each piece of work (a Sensor, a
/// polling listener, a shard of the workflows, the singletons) is a named lease that one replica holds at a time.
/// The embedded mode has one replica that holds everything (<see cref="SoleOwnership"/>); with a shared store the
/// leases live in PostgreSQL. Hosts ask for what they could run and run only what they hold.
/// </summary>
public interface IOwnership
{
    /// <summary>This replica's id (hostname-pid-random, or --replica-id): the holder of its leases and the host of its steps.</summary>
    string ReplicaId { get; }

    /// <summary>True when other replicas may run beside this one (a shared store).</summary>
    bool Shared { get; }

    /// <summary>
    /// Why this replica cannot take work now (the shared database has not answered for longer than a lease lives), or
    /// null. Webhooks and the API answer 503 meanwhile rather than accept what cannot be stored or acted on.
    /// </summary>
    string? Unavailable { get; }

    /// <summary>
    /// Asks for <paramref name="name"/> to be held as long as the claim is not disposed (disposing gives it back).
    /// <paramref name="changed"/> is called, quickly and from any thread, each time the lease is gained or lost.
    /// A claim with <paramref name="idle"/> is one of a group shared out evenly (the workflow shards): a replica holding
    /// more than its share hands over those whose <paramref name="idle"/> says nothing runs under them.
    /// </summary>
    ILeaseClaim Claim(string name, Action changed, Func<bool>? idle = null);
}

/// <summary>One wanted lease and whether this replica holds it right now.</summary>
public interface ILeaseClaim : IDisposable
{
    string Name { get; }

    bool Held { get; }

    /// <summary>The fencing token of the current hold: raised at each takeover, so a stale owner's writes can be refused.</summary>
    long Epoch { get; }

    /// <summary>Cancelled when the current hold ends (lost, or the claim disposed); already cancelled when not held.</summary>
    CancellationToken Lost { get; }
}

/// <summary>The embedded mode: the only replica, holding every lease for ever.</summary>
public sealed class SoleOwnership : IOwnership
{
    public static readonly SoleOwnership Instance = new();

    public string ReplicaId { get; } = Environment.MachineName;

    public bool Shared => false;

    public string? Unavailable => null;

    public ILeaseClaim Claim(string name, Action changed, Func<bool>? idle = null) => new Always(name);

    private sealed class Always(string name) : ILeaseClaim
    {
        public string Name => name;
        public bool Held => true;
        public long Epoch => 0;
        public CancellationToken Lost => CancellationToken.None;
        public void Dispose() { }
    }
}
