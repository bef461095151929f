using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Postgres.Replicas;
using EventGateway.Postgres.Schema;
using EventGateway.Workflows.Replicas;

namespace EventGateway.Server.Hosting;

/// <summary>Who does which exclusive work: this process alone (embedded), or one replica of several through leases in PostgreSQL.</summary>
public static class ReplicaServices
{
    public static IServiceCollection AddReplicaOwnership(this IServiceCollection services, EventGatewayOptions options)
    {
        if (options.Store is not { } store)
        {
            services.AddSingleton<IOwnership>(SoleOwnership.Instance);
            services.AddSingleton<IStepClaims>(NoStepClaims.Instance);
            return services;
        }
        // Opened once at start: an unreachable database fails the start with its URL; a later outage ends the leases (503).
        services.TryAddSingleton(_ => PostgresDatabase.OpenAsync(store).GetAwaiter().GetResult());
        if (options.Lease == "kubernetes" && options.Kubernetes is { } kubernetes)
            Kubernetes.ClusterServices.AddKubernetesLeases(services, kubernetes, options);
        else
        {
            services.AddSingleton(sp => new ReplicaLeases(sp.GetRequiredService<PostgresDatabase>().Source, options.ReplicaId ?? ReplicaLeases.NewReplicaId(),
                options.LeaseTtl, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ReplicaLeases>>()));
            services.AddSingleton<IOwnership>(sp => sp.GetRequiredService<ReplicaLeases>());
            services.AddHostedService(sp => sp.GetRequiredService<ReplicaLeases>());
        }
        services.AddSingleton<IStepClaims>(sp => new PostgresStepClaims(sp.GetRequiredService<PostgresDatabase>().Source, options.ProcessCapAcrossReplicas));
        services.AddSingleton<Events.Sensors.ISensorWorkflowPlaces>(sp => new Postgres.Sensors.PostgresSensorWorkflowPlaces(sp.GetRequiredService<PostgresDatabase>().Source));
        services.AddSingleton<Workflows.Synchronization.ISharedLocks>(sp =>
            new PostgresSharedLocks(sp.GetRequiredService<PostgresDatabase>().Source, sp.GetRequiredService<IOwnership>().ReplicaId));
        return services;
    }

    /// <summary>A singleton service (cron, reaper, artifact GC): as it is when alone, on the replica holding its lease otherwise.</summary>
    public static IHostedService Singleton(IServiceProvider sp, IHostedService inner, string name) =>
        LeaderOnly.Wrap(sp.GetRequiredService<IOwnership>(), inner, name, sp.GetRequiredService<ILogger<LeaderOnly>>());
}
