using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Shouldly;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Server.Security;

namespace EventGateway.Tests.Security;

/// <summary>The access table and the API agree: every endpoint has a rule, every rule an endpoint.</summary>
public sealed class ApiAccessPolicyTests
{
    [Fact]
    public void Every_endpoint_but_the_probes_has_exactly_one_rule_and_every_rule_names_an_endpoint()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-policy-").FullName;
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Services.AddEventGateway(new EventGatewayOptions { DataDir = dataDir, EventListenAddress = "127.0.0.1" });
            using var app = builder.Build();
            app.MapEventGatewayApi();
            var keys = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
                .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => ApiAccessPolicy.Key(m, ApiAccessPolicy.Pattern(e))))
                .ToList();
            keys.Count.ShouldBeGreaterThan(40);
            var guarded = keys.Where(k => k is not ("GET /healthz" or "GET /readyz")).ToList();
            guarded.Where(k => !ApiAccessPolicy.Rules.ContainsKey(k)).ShouldBeEmpty("endpoints without an access rule");
            ApiAccessPolicy.Rules.Keys.Where(k => !guarded.Contains(k)).ShouldBeEmpty("rules of endpoints that do not exist");
        }
        finally { Directory.Delete(dataDir, recursive: true); }
    }

    [Fact]
    public void Roles_include_the_ones_below_and_namespaces_bound_every_role()
    {
        var cases = new (string Method, string Pattern, ApiRole Needed)[]
        {
            ("GET", "/api/v1/workflows/{ns}/{name}/log", ApiRole.Read),
            ("POST", "/api/v1/workflows/{ns}/submit", ApiRole.Submit),
            ("PUT", "/api/v1/workflows/{ns}/{name}/retry", ApiRole.Submit),
            ("POST", "/api/v1/sensors/{ns}", ApiRole.Admin),
            ("DELETE", "/api/v1/workflows/{ns}/{name}", ApiRole.Admin),
            ("POST", "/api/v1/dead-letters/{id}/replay", ApiRole.Admin),
            ("POST", "/api/v1/cluster-workflow-templates", ApiRole.Admin),
        };
        foreach (var (method, pattern, needed) in cases) ApiAccessPolicy.Rules[ApiAccessPolicy.Key(method, pattern)].Role.ShouldBe(needed, pattern);
        var submitA = new ApiGrant("t", ApiRole.Submit, ["a"]);
        var docs = EventGateway.Server.Hosting.ManifestReader.Read("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\ndata: {k: v}\n");
        ApiAccessPolicy.RefuseDocuments(submitA, docs).ShouldBeNull();
        ApiAccessPolicy.RefuseDocuments(new ApiGrant("t", ApiRole.Admin, ["b"]), docs).ShouldNotBeNull();
    }
}
