using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources;
using EventGateway.Events.Sensors;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Workflows.Agent;
using EventGateway.Workflows.Cluster;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Server.Kubernetes;

public static class ClusterServices
{
    /// <summary>Kubernetes mode: the client, the mirror of the cluster's objects into the store, and the status writer.</summary>
    public static IServiceCollection AddClusterMirror(this IServiceCollection services, KubernetesOptions options, string? eventBus = null)
    {
        services.TryAddSingleton<IKubernetes>(_ => new k8s.Kubernetes(options.ClientConfiguration()));
        services.AddSingleton(sp => new ClusterObjectMirror(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<IResourceStore>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ClusterObjectMirror>>(), pageSize: options.ListPageSize));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterObjectMirror>());
        services.AddSingleton(sp => new ClusterStatusWriter(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<ClusterObjectMirror>(),
            sp.GetRequiredService<EventSourceHost>(), sp.GetRequiredService<SensorHost>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ClusterStatusWriter>>(), eventBus));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterStatusWriter>());
        services.AddClusterTargets(options);
        return services;
    }

    /// <summary>
    /// <c>--lease kubernetes</c>: replicas share work through Lease objects in the service's namespace (the pod's, or
    /// the kubeconfig context's); each hold gained is also recorded in the shared store, where fenced writes check it.
    /// </summary>
    public static void AddKubernetesLeases(IServiceCollection services, KubernetesOptions options, Hosting.EventGatewayOptions gateway)
    {
        services.TryAddSingleton<IKubernetes>(_ => new k8s.Kubernetes(options.ClientConfiguration()));
        services.AddSingleton(sp =>
        {
            var fences = new Postgres.Replicas.PostgresLeaseFences(sp.GetRequiredService<Postgres.Schema.PostgresDatabase>().Source);
            var replica = gateway.ReplicaId ?? Postgres.Replicas.ReplicaLeases.NewReplicaId();
            return new KubernetesLeases(sp.GetRequiredService<IKubernetes>(), options.LeaseNamespace(), replica, gateway.LeaseTtl,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<KubernetesLeases>>(),
                (name, epoch, ct) => fences.RecordAsync(name, replica, epoch, gateway.LeaseTtl, ct));
        });
        services.AddSingleton<Workflows.Replicas.IOwnership>(sp => sp.GetRequiredService<KubernetesLeases>());
        services.AddHostedService(sp => sp.GetRequiredService<KubernetesLeases>());
    }

    /// <summary>
    /// Kubernetes mode: triggers act on the cluster. The k8s trigger takes the cluster's implementation in place of the
    /// embedded store's, and with <c>--workflows-target cluster</c> so does the argoWorkflow trigger; the dynamic client
    /// they share reaches every kind (<see cref="CoreGroupPaths"/>).
    /// </summary>
    private static void AddClusterTargets(this IServiceCollection services, KubernetesOptions options)
    {
        services.AddSingleton<IClusterObjects>(sp => new KubernetesObjects(
            new k8s.Kubernetes(options.ClientConfiguration(), new CoreGroupPaths()), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(SensorValidator.InCluster);
        Replace<ManifestParser, ManifestParser>(services, sp => ManifestReader.ParserFor(cluster: true, pods: sp.GetService<EventGateway.Workflows.Validation.StepsArePods>() is not null));
        Replace<ITrigger, K8sTrigger>(services, sp => new ClusterK8sTrigger(sp.GetRequiredService<IClusterObjects>()));
        if (options.WorkflowsTarget == KubernetesOptions.ClusterTarget)
            Replace<ITrigger, ArgoWorkflowTrigger>(services, sp => new ClusterArgoWorkflowTrigger(sp.GetRequiredService<IClusterObjects>()));
        Replace<ITemplateRunner, ResourceTemplateRunner>(services, sp => new ClusterResourceTemplateRunner(sp.GetRequiredService<IClusterObjects>(), sp.GetRequiredService<TimeProvider>()));
    }

    /// <summary>Puts the cluster's implementation where the embedded one was registered (one trigger per kind, one runner per template type).</summary>
    private static void Replace<TService, TEmbedded>(IServiceCollection services, Func<IServiceProvider, TService> cluster) where TService : class
    {
        var i = services.ToList().FindIndex(d => d.ServiceType == typeof(TService) && (d.ImplementationType == typeof(TEmbedded) || d.ImplementationInstance is TEmbedded));
        if (i < 0) throw new InvalidOperationException($"no {typeof(TEmbedded).Name} registered to replace");
        services[i] = ServiceDescriptor.Singleton(cluster);
    }
}
