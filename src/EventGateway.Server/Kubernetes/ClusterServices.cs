using k8s;
using Microsoft.Extensions.DependencyInjection;
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
    public static IServiceCollection AddClusterMirror(this IServiceCollection services, KubernetesOptions options)
    {
        services.AddSingleton<IKubernetes>(_ => new k8s.Kubernetes(options.ClientConfiguration()));
        services.AddSingleton(sp => new ClusterObjectMirror(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<IResourceStore>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ClusterObjectMirror>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterObjectMirror>());
        services.AddSingleton(sp => new ClusterStatusWriter(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<ClusterObjectMirror>(),
            sp.GetRequiredService<EventSourceHost>(), sp.GetRequiredService<SensorHost>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ClusterStatusWriter>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterStatusWriter>());
        services.AddClusterTargets(options);
        return services;
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
        Replace<ManifestParser, ManifestParser>(services, _ => ManifestReader.ClusterParser);
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
