using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Model.Manifests;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// RBAC as the API server evaluates it, for the service account a deploy directory binds: a request (verb on
/// group/resource[/subresource], in a namespace or cluster-wide) is allowed by a ClusterRole bound with a
/// ClusterRoleBinding (any namespace), or by a Role/ClusterRole bound with a RoleBinding in the request's namespace.
/// Requests are read from the test API server's log, their verbs as the API server names them (GET of a collection:
/// list, or watch with watch=true; GET of one object: get; POST create; PUT update; PATCH patch; DELETE delete).
/// </summary>
public static class KubernetesRbac
{
    /// <summary>One granted right: <paramref name="Namespace"/> null when cluster-wide.</summary>
    public sealed record Grant(string? Namespace, string Group, string Resource, string Verb);

    public sealed record Deploy(IReadOnlyList<JsonObject> Documents, IReadOnlyList<Grant> Grants, IReadOnlyList<string> Resources);

    /// <summary>Parses every YAML file of <paramref name="dir"/>; the grants are those the kustomization's resources bind to ServiceAccount egw.</summary>
    public static Deploy Load(string dir, string serviceAccount = "egw")
    {
        var docs = new Dictionary<string, List<JsonObject>>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(dir, "*.yaml").Order(StringComparer.Ordinal))
            docs[Path.GetFileName(file)] = [.. YamlToJson.Convert(File.ReadAllText(file)).Select(d => (JsonObject)JsonNode.Parse(d.Json)!)];
        var kustomization = docs["kustomization.yaml"].Single();
        var resources = kustomization["resources"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
        foreach (var r in resources) docs.ShouldContainKey(r, $"kustomization.yaml lists {r}, which is not in {dir}");
        var all = docs.Where(d => d.Key != "kustomization.yaml").SelectMany(d => d.Value).ToList();
        foreach (var d in all)
        {
            d["apiVersion"].ShouldNotBeNull($"a document without apiVersion: {d.ToJsonString()}");
            d["kind"].ShouldNotBeNull($"a document without kind: {d.ToJsonString()}");
            d["metadata"]?["name"].ShouldNotBeNull($"a document without metadata.name: {d.ToJsonString()}");
        }
        var applied = resources.SelectMany(r => docs[r]).ToList();
        return new Deploy(all, GrantsOf(applied, serviceAccount), resources);
    }

    public static IReadOnlyList<Grant> GrantsOf(IReadOnlyList<JsonObject> docs, string serviceAccount)
    {
        string Kind(JsonObject d) => d["kind"]!.GetValue<string>();
        string Name(JsonObject d) => d["metadata"]!["name"]!.GetValue<string>();
        string? Ns(JsonObject d) => d["metadata"]?["namespace"]?.GetValue<string>();
        var grants = new List<Grant>();
        foreach (var binding in docs.Where(d => Kind(d) is "RoleBinding" or "ClusterRoleBinding"))
        {
            if (!binding["subjects"]!.AsArray().Any(s => s!["kind"]!.GetValue<string>() == "ServiceAccount" && s["name"]!.GetValue<string>() == serviceAccount)) continue;
            var roleRef = binding["roleRef"]!;
            var refKind = roleRef["kind"]!.GetValue<string>();
            var role = docs.SingleOrDefault(d => Kind(d) == refKind && Name(d) == roleRef["name"]!.GetValue<string>()
                                                  && (refKind == "ClusterRole" || Ns(d) == Ns(binding)))
                       .ShouldNotBeNull($"{Kind(binding)} {Name(binding)} refers to {refKind} {roleRef["name"]}, which is not deployed");
            var scope = Kind(binding) == "ClusterRoleBinding" ? null : Ns(binding).ShouldNotBeNull($"RoleBinding {Name(binding)} has no namespace");
            foreach (var rule in role["rules"]!.AsArray())
                foreach (var g in rule!["apiGroups"]!.AsArray())
                    foreach (var res in rule["resources"]!.AsArray())
                        foreach (var v in rule["verbs"]!.AsArray())
                        {
                            (g!.GetValue<string>() is "*" || res!.GetValue<string>() is "*" || v!.GetValue<string>() is "*")
                                .ShouldBeFalse($"{refKind} {Name(role)}: wildcards are wider than anything the service needs");
                            grants.Add(new Grant(scope, g.GetValue<string>(), res.GetValue<string>(), v.GetValue<string>()));
                        }
        }
        return grants;
    }

    /// <summary>The request as RBAC sees it: namespace (null cluster-wide), group, resource[/subresource], verb; null for non-resource paths.</summary>
    public static Grant? AsGrant(TestApiServer.Request r)
    {
        var seg = r.Path.Trim('/').Split('/');
        string group;
        string[] rest;
        if (seg.Length >= 3 && seg[0] == "api") (group, rest) = ("", seg[2..]);
        else if (seg.Length >= 4 && seg[0] == "apis") (group, rest) = (seg[1], seg[3..]);
        else return null;
        string? ns = null;
        if (rest.Length >= 3 && rest[0] == "namespaces") (ns, rest) = (rest[1], rest[2..]);
        var resource = rest.Length > 2 ? $"{rest[0]}/{rest[2]}" : rest[0];
        var named = rest.Length > 1;
        var verb = r.Method switch
        {
            "GET" when !named => r.Query.Contains("watch=true", StringComparison.Ordinal) ? "watch" : "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => named ? "delete" : "deletecollection",
            _ => r.Method.ToLowerInvariant(),
        };
        return new Grant(ns, group, resource, verb);
    }

    /// <summary>Every request is allowed, and every right of the deploy's roles was used by some request.</summary>
    public static void Check(Deploy deploy, IReadOnlyList<TestApiServer.Request> requests, string serviceAccountNamespace, string leaseNamespace)
    {
        var asked = requests.Select(AsGrant).OfType<Grant>().Distinct().ToList();
        asked.ShouldNotBeEmpty();
        var denied = asked.Where(a => !deploy.Grants.Any(g => Allows(g, a))).ToList();
        denied.ShouldBeEmpty($"requests the deployed RBAC does not allow (the service account would get 403): {string.Join("; ", denied)}");
        var unused = deploy.Grants.Where(g => !asked.Any(a => Allows(g, a))).ToList();
        unused.ShouldBeEmpty($"rights granted that the service never used (wider than needed): {string.Join("; ", unused)}");
        asked.Where(a => a.Group == "coordination.k8s.io").ShouldAllBe(a => a.Namespace == leaseNamespace);
    }

    private static bool Allows(Grant g, Grant a) =>
        g.Group == a.Group && g.Resource == a.Resource && g.Verb == a.Verb && (g.Namespace is null || g.Namespace == a.Namespace);
}
