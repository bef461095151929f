using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// deploy/kubernetes/cluster as files: every document parses, the kustomization names files that exist, the optional
/// roles bind the same service account with the rights the brief of their features lists; and the <c>--lease</c> flag's
/// refusals. The base roles are checked against real requests in <see cref="KubernetesReplicasTests"/>.
/// </summary>
public sealed class KubernetesDeployTests
{
    private static string Dir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "deploy", "kubernetes", "cluster"))) return Path.Combine(dir.FullName, "deploy", "kubernetes", "cluster");
        throw new DirectoryNotFoundException("deploy/kubernetes/cluster");
    }

    [Fact]
    public void Every_document_parses_and_the_deployment_runs_kubernetes_mode_with_kubernetes_leases_as_the_bound_service_account()
    {
        var deploy = KubernetesRbac.Load(Dir());
        deploy.Resources.ShouldBe(["service-account.yaml", "rbac.yaml", "deployment.yaml", "services.yaml"]);
        var deployment = deploy.Documents.Single(d => d["kind"]!.GetValue<string>() == "Deployment");
        var pod = deployment["spec"]!["template"]!["spec"]!;
        pod["serviceAccountName"]!.GetValue<string>().ShouldBe("egw");
        var args = pod["containers"]![0]!["args"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        args.ShouldContain("--kubernetes");
        args[args.IndexOf("--lease") + 1].ShouldBe("kubernetes");
        args.ShouldContain("--store");
        deploy.Documents.Count(d => d["kind"]!.GetValue<string>() == "Service").ShouldBe(2);
        deploy.Grants.ShouldContain(new KubernetesRbac.Grant("egw", "coordination.k8s.io", "leases", "update"));
        deploy.Grants.ShouldNotContain(g => g.Resource == "secrets" && g.Verb == "get", "the mirror lists and watches; it never gets one Secret");
    }

    [Fact]
    public void The_optional_roles_grant_steps_as_pods_and_the_k8s_trigger_what_those_features_call_to_the_same_account()
    {
        var docs = KubernetesRbac.Load(Dir()).Documents;
        var pods = KubernetesRbac.GrantsOf([.. docs.Where(d => d["metadata"]!["name"]!.GetValue<string>() == "egw-step-pods")], "egw");
        pods.Select(g => $"{g.Namespace} {g.Resource} {g.Verb}").Order(StringComparer.Ordinal)
            .ShouldBe(["egw pods create", "egw pods delete", "egw pods get", "egw pods list", "egw pods watch", "egw pods/log get"]);
        var trigger = KubernetesRbac.GrantsOf([.. docs.Where(d => d["metadata"]!["name"]!.GetValue<string>() == "egw-k8s-trigger")], "egw");
        trigger.ShouldContain(new KubernetesRbac.Grant(null, "argoproj.io", "workflows", "create"));
        trigger.ShouldContain(new KubernetesRbac.Grant(null, "batch", "jobs", "watch"));
    }

    [Fact]
    public async Task Lease_kubernetes_without_a_cluster_or_a_shared_store_is_refused_naming_what_is_missing()
    {
        var dir = Directory.CreateTempSubdirectory("egw-lease-cli-").FullName;
        var (code, _, err) = await CliTests.Egw("serve", "--port", "0", "--data-dir", dir, "--lease", "kubernetes");
        code.ShouldNotBe(0);
        err.ShouldContain("--lease kubernetes: Lease objects share the work of replicas that share a store and a cluster: it needs --kubernetes and --store postgres://...");
        (code, _, err) = await CliTests.Egw("serve", "--port", "0", "--data-dir", dir, "--lease", "etcd");
        code.ShouldNotBe(0);
        err.ShouldContain("--lease 'etcd' is not one of postgres, kubernetes");
        err.ShouldNotContain("   at ");
    }
}
