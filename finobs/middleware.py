"""WhiteNoise with an async path, so the whole middleware chain runs on daphne's event loop.

WhiteNoiseMiddleware is sync only; one sync middleware in an otherwise async chain made every request
hop loop -> thread -> loop -> thread (Django adapts each side), and under load those hops queued on
the busy event loop (py-spy: about a fifth of the web process' samples were the loop). With every middleware async
capable, a request leaves the loop once, for the sync view.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        # The same lookups as WhiteNoiseMiddleware.__call__; autorefresh (DEBUG) reads the disk, so off the loop.
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)
