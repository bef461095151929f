using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources;
using EventGateway.Events.Sensors;
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
        return services;
    }
}
