"""The Telegram transport: every handler, registered in one place and in order."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import SanadContext
from handlers import (
    appointments,
    booking,
    broadcast,
    classes,
    diary,
    diary_add,
    fallback,
    family_appointments,
    family_tickets,
    gate,
    invite,
    invite_flow,
    language,
    menu,
    messages,
    mydata,
    privacy_admin,
    reference_data,
    reminders,
    report,
    routing_admin,
    slots,
    staff_admin,
    staff_tickets,
    start,
    stats,
    support_window,
    translate,
)
from handlers.callbacks import ClassAction, DiaryAction, Prefix, ReminderAction, StatsAction
from handlers.callbacks import pattern as callback_pattern
from handlers.common import person_of

UNSUPPORTED = (
    filters.Sticker.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
    | filters.GAME
    | filters.ANIMATION
    | filters.VIDEO_NOTE
    | filters.VIDEO
)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Adds every handler. Order matters: the gate runs first, fallbacks last."""
    private = filters.ChatType.PRIVATE
    # Group -1: resolve the caller; strangers and unconsented families stop here.
    app.add_handler(TypeHandler(Update, gate.gate), group=-1)
    app.add_handler(ChatMemberHandler(fallback.bot_blocked, ChatMemberHandler.MY_CHAT_MEMBER))

    app.add_handler(CommandHandler("start", start.start_command, filters=private))
    app.add_handler(CommandHandler("help", menu.help_command, filters=private))
    app.add_handler(CommandHandler("menu", menu.menu_command, filters=private))
    app.add_handler(CommandHandler("language", language.language_command, filters=private))
    app.add_handler(CommandHandler("cancel", fallback.cancel_command, filters=private))
    app.add_handler(CommandHandler("invite", invite.invite_command, filters=private))
    app.add_handler(CommandHandler("mydata", mydata.mydata_command, filters=private))
    app.add_handler(
        CommandHandler("audit", _staff_only(privacy_admin.audit_command), filters=private)
    )
    app.add_handler(CommandHandler("report", messages.report_command, filters=private))
    app.add_handler(CommandHandler("tickets", messages.tickets_command, filters=private))
    app.add_handler(CommandHandler("book", booking.book_command, filters=private))
    app.add_handler(CommandHandler("slots", _staff_only(slots.slots_command), filters=private))
    staff = ("reply", "note", "saved")
    for name, callback in zip(
        staff,
        (staff_tickets.reply_command, staff_tickets.note_command, staff_tickets.saved_command),
        strict=True,
    ):
        app.add_handler(CommandHandler(name, _staff_only(callback), filters=private))

    app.add_handler(CallbackQueryHandler(start.consent_button, pattern=r"^consent:ok$"))
    app.add_handler(CallbackQueryHandler(language.language_button, pattern=r"^lang:(ar|en)$"))
    app.add_handler(
        CallbackQueryHandler(language.language_menu_button, pattern=r"^menu:language$")
    )
    app.add_handler(CallbackQueryHandler(menu.help_button, pattern=r"^menu:help$"))
    app.add_handler(CallbackQueryHandler(messages.report_command, pattern=r"^menu:report$"))
    app.add_handler(CallbackQueryHandler(messages.tickets_command, pattern=r"^menu:tickets$"))
    # Contract figures and the support window (handlers/stats.py, support_window.py): the
    # services refuse caseworkers (figures) and anyone not staff.
    app.add_handler(CommandHandler("stats", _staff_only(stats.stats_command), filters=private))
    app.add_handler(
        CallbackQueryHandler(_staff_only(stats.stats_command), pattern=r"^menu:stats$")
    )
    app.add_handler(
        CallbackQueryHandler(
            _staff_only(stats.period_button),
            pattern=callback_pattern(Prefix.STATS, StatsAction.PERIOD, 2),
        )
    )
    app.add_handler(
        CommandHandler("support", _staff_only(support_window.support_command), filters=private)
    )
    app.add_handler(
        CallbackQueryHandler(
            _staff_only(support_window.support_command),
            pattern=callback_pattern(Prefix.STATS, StatsAction.SUPPORT),
        )
    )
    # Coordinators' broadcasts (handlers/broadcast.py): the service refuses anyone else.
    app.add_handler(CommandHandler("broadcast", broadcast.broadcast_command, filters=private))
    app.add_handler(CallbackQueryHandler(broadcast.broadcast_command, pattern=r"^menu:broadcast$"))
    app.add_handler(CallbackQueryHandler(broadcast.button, pattern=rf"^{Prefix.BROADCAST}:"))
    app.add_handler(CallbackQueryHandler(invite.invite_button, pattern=r"^menu:invite$"))
    # Invites with buttons and reference data (coordinators; the handlers refuse other staff).
    for name, command in (
        ("providers", reference_data.providers_command),
        ("districts", reference_data.districts_command),
        ("routing", routing_admin.routing_command),
        ("staff", staff_admin.staff_command),
    ):
        app.add_handler(CommandHandler(name, _staff_only(command), filters=private))
    app.add_handler(
        CallbackQueryHandler(_staff_only(reference_data.home), pattern=r"^menu:refdata$")
    )
    for prefix, admin_buttons in (
        (Prefix.INVITE, invite_flow.BUTTONS),
        (Prefix.ADMIN, reference_data.BUTTONS + routing_admin.BUTTONS + staff_admin.BUTTONS),
    ):
        for admin_button, admin_action, admin_args in admin_buttons:
            app.add_handler(
                CallbackQueryHandler(
                    _staff_only(admin_button),
                    pattern=callback_pattern(prefix, admin_action, admin_args),
                )
            )
    # The diary and ESOL classes (handlers/appointments.py, diary.py, diary_add.py, classes.py).
    for name, command in (
        ("appointments", appointments.appointments_command),
        ("classes", classes.classes_command),
    ):
        app.add_handler(CommandHandler(name, command, filters=private))
    app.add_handler(
        CallbackQueryHandler(appointments.appointments_command, pattern=r"^menu:appts$")
    )
    app.add_handler(CallbackQueryHandler(classes.classes_command, pattern=r"^menu:classes$"))
    calendar_staff_buttons = [
        (diary.outcome_button, Prefix.DIARY, DiaryAction.KEPT, 1),
        (diary.outcome_button, Prefix.DIARY, DiaryAction.MISSED, 1),
        (diary_add.add_button, Prefix.DIARY, DiaryAction.ADD, 0),
        (diary_add.family_button, Prefix.DIARY, DiaryAction.FAMILY, 1),
        (classes.open_button, Prefix.CLASSES, ClassAction.OPEN, 1),
        (classes.enrol_button, Prefix.CLASSES, ClassAction.ENROL, 1),
        (classes.pick_button, Prefix.CLASSES, ClassAction.PICK, 2),
        (classes.yes_button, Prefix.CLASSES, ClassAction.YES, 2),
        (classes.out_button, Prefix.CLASSES, ClassAction.OUT, 2),
        (classes.sessions_button, Prefix.CLASSES, ClassAction.SESSIONS, 1),
        (classes.register_button, Prefix.CLASSES, ClassAction.REGISTER, 2),
        (classes.mark_button, Prefix.CLASSES, ClassAction.ATTENDED, 3),
        (classes.mark_button, Prefix.CLASSES, ClassAction.ABSENT, 3),
    ]
    for staff_callback, prefix, calendar_action, count in calendar_staff_buttons:
        app.add_handler(
            CallbackQueryHandler(
                _staff_only(staff_callback),
                pattern=callback_pattern(prefix, calendar_action, count),
            )
        )
    app.add_handler(
        CallbackQueryHandler(_members_only(booking.book_command), pattern=r"^menu:book$")
    )
    app.add_handler(
        CallbackQueryHandler(_staff_only(slots.slots_command), pattern=r"^menu:slots$")
    )
    # Slots (staff), booking and the family's own appointments (members).
    for prefix, buttons, guard in (
        (Prefix.SLOTS, slots.BUTTONS, _staff_only),
        (Prefix.BOOKING, booking.BUTTONS, _members_only),
        (Prefix.APPOINTMENTS, family_appointments.BUTTONS, _members_only),
        # Privacy rights: a family's /mydata buttons, coordinators' decisions and trails.
        (Prefix.PRIVACY, mydata.BUTTONS, _members_only),
        (Prefix.PRIVACY, privacy_admin.BUTTONS, _staff_only),
    ):
        for button, button_action, count in buttons:
            app.add_handler(
                CallbackQueryHandler(
                    guard(button), pattern=callback_pattern(prefix, button_action, count)
                )
            )

    # Families: the report flow and their requests. Staff: ticket cards.
    family_buttons = [
        (report.category_button, r"^rep:cat:[a-z_]+$"),
        (report.send_button, r"^rep:send$"),
        (report.confirm_button, r"^rep:confirm$"),
        (report.more_button, r"^rep:more$"),
        (report.cancel_button, r"^rep:cancel$"),
        (report.attach_button, r"^att:(\d+|new)$"),
        (family_tickets.add_button, r"^fam:add:\d+$"),
        (family_tickets.reopen_button, r"^fam:reopen:\d+$"),
        (family_tickets.helpful_button, r"^fam:helpful:\d+:[01]$"),
    ]
    for callback, pattern in family_buttons:
        app.add_handler(CallbackQueryHandler(_members_only(callback), pattern=pattern))
    # Reminders: "I will come" / "I can't come" (handlers/reminders.py).
    for reminder_callback, action in (
        (reminders.yes_button, ReminderAction.YES),
        (reminders.no_button, ReminderAction.NO),
    ):
        app.add_handler(
            CallbackQueryHandler(
                _members_only(reminder_callback),
                pattern=callback_pattern(Prefix.REMINDER, action, 1),
            )
        )
    staff_buttons = [
        (staff_tickets.open_button, r"^tk:open:\d+$"),
        (staff_tickets.claim_button, r"^tk:claim:\d+$"),
        (staff_tickets.reply_button, r"^tk:reply:\d+$"),
        (staff_tickets.note_button, r"^tk:note:\d+$"),
        (staff_tickets.resolve_button, r"^tk:resolve:\d+$"),
        (staff_tickets.reassign_button, r"^tk:reassign:\d+$"),
        (staff_tickets.reassign_to_button, r"^tk:to:\d+:(\d+|q)$"),
        (staff_tickets.urgent_button, r"^tk:urgent:\d+:[01]$"),
        (staff_tickets.saved_button, r"^tk:saved:\d+$"),
        (staff_tickets.send_saved_button, r"^tk:sr:\d+:\d+$"),
        (staff_tickets.delete_saved_button, r"^sr:del:\d+$"),
        (translate.again_button, r"^tr:again:\d+$"),
        (translate.wrong_button, r"^tr:wrong:\d+$"),
    ]
    for callback, pattern in staff_buttons:
        app.add_handler(CallbackQueryHandler(_staff_only(callback), pattern=pattern))

    # Last: whatever nobody above took.
    app.add_handler(MessageHandler(filters.COMMAND & private, fallback.unknown_command))
    app.add_handler(MessageHandler(UNSUPPORTED & private, fallback.unsupported_message))
    app.add_handler(MessageHandler(private & ~filters.COMMAND, messages.on_private_message))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))


Callback = Callable[[Update, SanadContext], Coroutine[Any, Any, None]]


def _staff_only(callback: Callback) -> Callback:
    """Lets only linked staff through; anyone else gets the unknown-command answer."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: SanadContext) -> None:
        person = person_of(update, context)
        if person.is_staff:
            await callback(update, context)
        elif update.callback_query is not None:
            await fallback.stale_button(update, context)
        else:
            await fallback.unknown_command(update, context)

    return wrapper


def _members_only(callback: Callback) -> Callback:
    """Lets only linked family members through."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: SanadContext) -> None:
        if person_of(update, context).is_member:
            await callback(update, context)
        else:
            await fallback.stale_button(update, context)

    return wrapper
