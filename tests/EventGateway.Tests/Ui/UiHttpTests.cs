using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Server.Ui;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Ui;

/// <summary>
/// The UI's routes over plain HTTP against a real `egw serve`: nothing but the login page without a session, the
/// security headers on every UI response, the login's refusals, and the session cookie's limits at the API (a change
/// needs the CSRF header; logout ends it).
/// </summary>
public sealed class UiHttpTests(UiServer ui) : IClassFixture<UiServer>
{
    private HttpClient Anonymous(CookieContainer? jar = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = jar ?? new CookieContainer(), UseCookies = true }) { BaseAddress = ui.Serve.BaseAddress };

    [Fact]
    public void Every_file_under_Ui_assets_is_embedded_in_the_assembly()
    {
        var dir = Path.Combine(Repo(), "src", "EventGateway.Server", "Ui", "assets");
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).Order().ToList();
        UiAssets.All.Keys.Order().ShouldBe(files);
        files.ShouldContain("vendor/dagre.esm.js");
        files.ShouldContain("vendor/NOTICE.txt");
    }

    [Fact]
    public async Task Without_a_session_the_shell_redirects_to_login_and_every_asset_and_the_session_answer_401()
    {
        using var http = Anonymous();
        var shell = await http.GetAsync("/");
        shell.StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        shell.Headers.Location!.ToString().ShouldBe("/login");
        (await shell.Content.ReadAsStringAsync()).ShouldBeEmpty();

        foreach (var asset in UiAssets.All.Keys.Where(k => k is not "login.html" and not "login.css"))
        {
            var r = await http.GetAsync($"/assets/{asset}");
            r.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, asset);
            (await r.Content.ReadAsStringAsync()).ShouldContain("log in at /login");
            Secured(r, asset);
        }
        (await http.GetAsync("/ui/session")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await http.GetAsync("/api/v1/workflows/-")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        // The login page and its stylesheet are the only anonymous UI responses, and they carry no data.
        var login = await http.GetAsync("/login");
        login.StatusCode.ShouldBe(HttpStatusCode.OK);
        Secured(login, "/login");
        (await login.Content.ReadAsStringAsync()).ShouldNotContain("<script");
        (await http.GetAsync("/login.css")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Login_refuses_a_wrong_token_an_empty_one_a_non_form_body_and_another_sites_origin()
    {
        using var http = Anonymous();
        var wrong = await http.PostAsync("/login", Form("egw_wrong"));
        wrong.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await wrong.Content.ReadAsStringAsync()).ShouldContain("invalid or revoked token");
        wrong.Headers.Contains("Set-Cookie").ShouldBeFalse();
        Secured(wrong, "failed login");

        (await http.PostAsync("/login", Form(""))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await http.PostAsync("/login", ServeProcess.Json($$"""{"token":"{{ui.Serve.AdminToken}}"}"""))).StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);

        using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/login") { Content = Form(ui.Serve.AdminToken) };
        crossSite.Headers.Add("Origin", "https://evil.example");
        var refused = await http.SendAsync(crossSite);
        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("cross-site requests are refused");
        refused.Headers.Contains("Set-Cookie").ShouldBeFalse();
    }

    [Fact]
    public async Task The_session_cookie_reads_the_api_changes_only_with_the_csrf_header_and_ends_at_logout()
    {
        var jar = new CookieContainer();
        using var http = Anonymous(jar);
        var login = await http.PostAsync("/login", Form(ui.Serve.AdminToken));
        login.StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        login.Headers.Location!.ToString().ShouldBe("/");
        var setCookie = login.Headers.GetValues("Set-Cookie").ShouldHaveSingleItem();
        setCookie.ShouldContain("httponly");
        setCookie.ShouldContain("samesite=strict");
        setCookie.ShouldNotContain(ui.Serve.AdminToken);

        var shell = await http.GetAsync("/");
        shell.StatusCode.ShouldBe(HttpStatusCode.OK);
        Secured(shell, "/");
        (await shell.Content.ReadAsStringAsync()).ShouldContain("<script type=\"module\" src=\"/assets/app.js\">");
        var app = await http.GetAsync("/assets/app.js");
        app.StatusCode.ShouldBe(HttpStatusCode.OK);
        app.Content.Headers.ContentType!.MediaType.ShouldBe("text/javascript");
        (await http.GetAsync("/assets/nothing.js")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await http.GetAsync("/api/v1/workflows/-")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var session = JsonNode.Parse(await http.GetStringAsync("/ui/session"))!;
        session["user"]!.GetValue<string>().ShouldBe("admin");
        var csrf = session["csrf"]!.GetValue<string>();

        // A change with the cookie alone is what a cross-site form could make: refused, nothing submitted.
        const string body = """{"resourceKind":"workflowtemplate","resourceName":"greet","submitOptions":{"name":"from-cookie"}}""";
        var bare = await http.PostAsync("/api/v1/workflows/argo/submit", ServeProcess.Json(body));
        bare.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await bare.Content.ReadAsStringAsync()).ShouldContain("X-EGW-CSRF");
        using (var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/v1/workflows/argo/submit") { Content = ServeProcess.Json(body) })
        {
            wrong.Headers.Add(UiSessions.CsrfHeader, csrf + "x");
            (await http.SendAsync(wrong)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
        (await http.GetAsync("/api/v1/workflows/argo/from-cookie")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using (var good = new HttpRequestMessage(HttpMethod.Post, "/api/v1/workflows/argo/submit") { Content = ServeProcess.Json(body) })
        {
            good.Headers.Add(UiSessions.CsrfHeader, csrf);
            var r = await http.SendAsync(good);
            r.StatusCode.ShouldBe(HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        }

        using (var logout = new HttpRequestMessage(HttpMethod.Post, "/logout"))
        {
            logout.Headers.Add(UiSessions.CsrfHeader, csrf);
            (await http.SendAsync(logout)).StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        }
        // The browser dropped the cookie; one kept by someone else is dead too.
        using var replay = new HttpRequestMessage(HttpMethod.Get, "/api/v1/workflows/-");
        replay.Headers.Add("Cookie", setCookie.Split(';')[0]);
        (await Anonymous().SendAsync(replay)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Serve_prints_the_ui_address_with_where_the_admin_token_is_and_without_auth_the_ui_needs_no_login()
    {
        var data = Directory.CreateTempSubdirectory("egw-ui-stderr-").FullName;
        try
        {
            var stderr = await Security.ApiServeSecurityTests.StderrUntilServing("--data-dir", data);
            stderr.ShouldMatch(@"\nweb UI: http://127\.0\.0\.1:\d+/ \(log in with the admin token, kept in " + System.Text.RegularExpressions.Regex.Escape(Path.Combine(data, "admin.token")) + @"\)\n");
            // A wildcard address is not one a browser goes to.
            (await Security.ApiServeSecurityTests.StderrUntilServing("--data-dir", data, "--address", "0.0.0.0")).ShouldMatch(@"\nweb UI: http://localhost:\d+/ ");
        }
        finally { Directory.Delete(data, recursive: true); }

        await using var open = await ServeProcess.StartAsync(null, null, "--auth-mode", "none");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = open.BaseAddress };
        (await http.GetAsync("/")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await http.GetAsync("/assets/app.js")).StatusCode.ShouldBe(HttpStatusCode.OK);
        JsonNode.Parse(await http.GetStringAsync("/ui/session"))!["authMode"]!.GetValue<string>().ShouldBe("none");
        var login = await http.GetAsync("/login");
        login.StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        login.Headers.Location!.ToString().ShouldBe("/");
    }

    [Fact]
    public void A_session_expires_after_its_lifetime_and_the_oldest_give_way_beyond_the_cap()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var sessions = new UiSessions(time);
        var id = sessions.Create("token");
        sessions.Find(Request(id)).ShouldNotBeNull().Token.ShouldBe("token");
        sessions.Find(Request(id + "x")).ShouldBeNull();
        time.Advance(UiSessions.Lifetime - TimeSpan.FromSeconds(1));
        sessions.Find(Request(id)).ShouldNotBeNull();
        time.Advance(TimeSpan.FromSeconds(1));
        sessions.Find(Request(id)).ShouldBeNull();

        var first = sessions.Create("a");
        time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 1; i < UiSessions.MaxSessions + 5; i++) sessions.Create("b");
        sessions.Count.ShouldBeLessThanOrEqualTo(UiSessions.MaxSessions);
        sessions.Find(Request(first)).ShouldBeNull();
    }

    private static Microsoft.AspNetCore.Http.HttpRequest Request(string cookie)
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Request.Headers.Cookie = $"{UiSessions.Cookie}={cookie}";
        return http.Request;
    }

    private static void Secured(HttpResponseMessage r, string what)
    {
        r.Headers.GetValues("Content-Security-Policy").ShouldHaveSingleItem(what).ShouldBe(UiEndpoints.ContentSecurityPolicy, what);
        UiEndpoints.ContentSecurityPolicy.ShouldContain("script-src 'self'");
        UiEndpoints.ContentSecurityPolicy.ShouldNotContain("unsafe-inline");
        r.Headers.GetValues("X-Content-Type-Options").ShouldHaveSingleItem().ShouldBe("nosniff", what);
        r.Headers.GetValues("X-Frame-Options").ShouldHaveSingleItem().ShouldBe("DENY", what);
    }

    private static FormUrlEncodedContent Form(string token) => new([new("token", token)]);

    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", ".."));
}
