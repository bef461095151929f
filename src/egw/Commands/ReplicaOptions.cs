using System.CommandLine;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Cli.Commands;

/// <summary>egw serve's options for running as one of several replicas over a shared PostgreSQL store (--store).</summary>
internal sealed class ReplicaOptions
{
    private readonly Option<string?> _replicaId = new("--replica-id") { Description = "this replica's id among those sharing --store (default: hostname-pid-random; give a stable one, e.g. a pod name, to let a restart adopt its own running steps)" };
    private readonly Option<string> _leaseTtl = new("--lease-ttl") { Description = "how long a replica's leases (sensors, polling sources, workflow shards, schedules) outlive its last renewal: ownership moves this long after it dies", DefaultValueFactory = _ => "15s" };

    private readonly Option<string> _lease = new("--lease") { Description = "where replicas' leases live: postgres (egw_leases in --store) or kubernetes (coordination.k8s.io Lease objects in the service's namespace; needs --kubernetes and --store)", DefaultValueFactory = _ => "postgres" };

    private readonly Option<int?> _maxPerReplica = new("--max-processes-per-replica") { Description = "cap on step processes this replica runs at once (its machine's share), besides --max-processes over all replicas (default: --max-processes, or 32 per core)" };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(_lease);
        cmd.Options.Add(_maxPerReplica);
        cmd.Options.Add(_replicaId);
        cmd.Options.Add(_leaseTtl);
    }

    public void Apply(ParseResult r, EventGatewayOptions options)
    {
        options.ReplicaId = r.GetValue(_replicaId);
        options.Lease = r.GetValue(_lease)!;
        options.MaxProcessesPerReplica = r.GetValue(_maxPerReplica);
        var ttl = r.GetValue(_leaseTtl)!;
        options.LeaseTtl = Durations.TryParse(ttl, out var d) ? d : throw new CliException($"--lease-ttl '{ttl}' is not a duration (e.g. 15s)", ExitCodes.Invalid);
    }
}
