using CxEngine.PlainService;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// cxengine-plain --urls http://127.0.0.1:50061 [--data DIR]: h2c on the given address, like the engine.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
var dataDirectory = builder.Configuration["data"] is { Length: > 0 } given
    ? given
    : Directory.CreateTempSubdirectory("cxengine-plain-").FullName;
Directory.CreateDirectory(dataDirectory);

builder.Services.AddGrpc();
builder.Services.AddSingleton(_ => new GroupCommitWriter(Path.Combine(dataDirectory, "plain.db")));
builder.Services.AddSingleton<CustomerStore>();

var app = builder.Build();
app.MapGrpcService<PlainIngestService>();
Log.Storing(app.Logger, dataDirectory);
app.Run();

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Plain service: SQLite database in {Directory}")]
    public static partial void Storing(ILogger logger, string directory);
}
