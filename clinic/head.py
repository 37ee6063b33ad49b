"""HEAD answered with GET's status and headers and no body.

Django leaves dropping a HEAD response's body to the server, and gunicorn drops it with a warning in the log for
every request: a load balancer or uptime monitor asking with HEAD every few seconds would fill the production log.
The outermost middleware, so it sees the response as the client gets it.
"""


def head_without_body(get_response):
    def middleware(request):
        response = get_response(request)
        if request.method == "HEAD" and not response.streaming and response.content:
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)  # what GET would send, as HEAD promises
        return response

    return middleware
