"""Routing by the conversation's state (common/names.py ``State``): the service's own buttons
and questions first, then staff while a person is involved; None leaves the message to the
assistant (bot/core/assistant.py).

Where the user's words go while a person is involved is decided here only (:meth:`to_staff`),
for an ordinary message and for a crisis message (bot/core/crisis.py) alike.
"""

from __future__ import annotations

from bot.address import AddressBook
from bot.core.checks import storage_or_retry
from bot.core.handoffs import Handoffs
from bot.core.utterance import Utterance
from bot.messages import BotMessage
from common.address import PAYLOADS, WISH_MAX_WORDS, Address, wish
from common.content import ServiceMessages
from common.names import State
from common.payload import ASK_CALLBACK, is_service_payload
from handoff import enough
from handoff.callbacks import Callbacks
from handoff.service import HandoffService
from handoff.store import Conversation

# A person is involved: the user's words go to staff, never to Rasa.
WITH_A_PERSON = (State.WAITING, State.WITH_STAFF)


class Routing:
    def __init__(
        self,
        handoff: HandoffService,
        texts: ServiceMessages,
        address: AddressBook,
        callbacks: Callbacks | None,
        handoffs: Handoffs,
    ) -> None:
        self._handoff = handoff
        self._texts = texts
        self._address = address
        self._callbacks = callbacks
        self._handoffs = handoffs

    async def route(self, u: Utterance, state: Conversation) -> list[BotMessage] | None:
        """The replies of the service itself or of staff's side; None: the assistant answers.
        A Redis error means nothing was kept (StorageUnavailable: the client may send it again).
        """
        with storage_or_retry():
            own = await self._service(u, state)
            if own is not None:
                return own
            if u.text == ASK_CALLBACK and self._callbacks is not None:
                too_late = await self._callback_instead(u, state)
                if too_late is not None:
                    return too_late
                state = await self._handoff.conversation(u.cid)
            if is_service_payload(u.text):  # stop waiting, end the chat, a score ...
                return u.to_user(await self._handoff.control(u.cid, state, u.text))
            staff = await self.to_staff(u, state)
            if staff is not None:
                return staff
            if not u.payload and len(u.text.split()) <= WISH_MAX_WORDS:
                form = wish(u.text)  # "zeg maar u", "je mag me tutoyeren"
                if form is not None:
                    return [await self._choose(u, form)]
        return None

    async def to_staff(self, u: Utterance, state: Conversation) -> list[BotMessage] | None:
        """The user's words while a person is involved: to staff (waiting, with staff) or kept
        for them (leaving a message). None in the assistant's states (bot, callback)."""
        if state.state in WITH_A_PERSON:
            own = await self._handoff.user_message(u.cid, state, u.text)
        elif state.state == State.LEAVING_MESSAGE:
            own = await self._handoff.leave_message(u.cid, u.channel, u.text)
        else:
            return None
        return u.to_user(own)

    async def _service(self, u: Utterance, state: Conversation) -> list[BotMessage] | None:
        """The service's own questions, in any state: "je" or "u", "Heb je hier genoeg aan?",
        and the callback questions."""
        if u.text in PAYLOADS:  # the widget's control, Telegram's /u and /je
            return [await self._choose(u, PAYLOADS[u.text])]
        if enough.is_answer(u.text):  # "Heb je hier genoeg aan ...?", in any state
            return u.to_user([await self._handoff.answer_enough(u.cid, u.text)])
        if state.state == State.CALLBACK and self._callbacks is not None:
            step = await self._callbacks.user_message(u.cid, u.text)
            if step is not None:  # the service's own questions: never to Rasa
                return await self._handoffs.callback_turn(u, step)
        return None

    async def _callback_instead(self, u: Utterance, state: Conversation) -> list[BotMessage] | None:
        """ "Bel me liever terug" instead of waiting or leaving a message: back to the assistant,
        which takes the wish (it knows whether a youth asks, who is never asked a number). A
        reply only when staff took the chat just now."""
        if state.state == State.LEAVING_MESSAGE:
            await self._handoff.back_to_bot(u.cid, u.channel)
        elif state.state == State.WAITING and not await self._handoff.withdraw(u.cid, state):
            return u.to_user([{"text": self._texts.get("handoff_cancel_too_late")}])
        return None

    async def _choose(self, u: Utterance, form: Address) -> BotMessage:
        """The parent's choice of "je" or "u", kept for the conversation; a youth keeps "je"."""
        if await self._address.is_youth(u.cid):
            key, form = "address_youth", Address.JE
        else:
            await self._address.choose(u.cid, form)
            key = f"address_{form}"
        (chosen,) = u.to_user(
            [{"text": self._texts.get(key), "custom": {"service": "address", "address": str(form)}}]
        )
        return chosen
