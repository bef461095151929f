using Microsoft.AspNetCore.Http;
using EventGateway.Model.Manifests;

namespace EventGateway.Server.Api;

/// <summary>Errors in the Argo Server's (grpc-gateway) shape: {"code": N, "message": "..."}.</summary>
internal static class ApiErrors
{
    public static IResult Invalid(string message) => Results.Json(new { code = 3, message }, statusCode: StatusCodes.Status400BadRequest);
    public static IResult Invalid(ManifestException e) =>
        Results.Json(new { code = 3, message = e.Message, details = e.Errors.Select(x => new { path = x.Path, line = x.Line, reason = x.Reason }) }, statusCode: StatusCodes.Status400BadRequest);
    public static IResult NotFound(string what) => Results.Json(new { code = 5, message = $"{what} not found" }, statusCode: StatusCodes.Status404NotFound);
    public static IResult Conflict(string message) => Results.Json(new { code = 6, message }, statusCode: StatusCodes.Status409Conflict);
    public static IResult Unauthenticated(string message) => Results.Json(new { code = 16, message }, statusCode: StatusCodes.Status401Unauthorized);
    public static IResult Forbidden(string message) => Results.Json(new { code = 7, message }, statusCode: StatusCodes.Status403Forbidden);
    public static IResult UnsupportedMediaType(string message) => Results.Json(new { code = 3, message }, statusCode: StatusCodes.Status415UnsupportedMediaType);
}
