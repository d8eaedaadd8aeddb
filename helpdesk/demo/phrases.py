"""Words and sentences a bulk demo desk is written from: varied, realistic, made up (demo/bulk.py)."""

FIRST_NAMES = (
    "Amelia Ben Chloe Daniel Emma Farid Grace Hugo Isla Jonas Kate Liam Maya Noah Olivia Priya "
    "Quentin Rosa Sam Tara Umar Vera William Xenia Yusuf Zoe Aisha Bruno Clara Diego Elena Felix "
    "Greta Hana Ivan Julia Karim Lena Marco Nina"
).split()
LAST_NAMES = (
    "Adams Becker Costa Dubois Evans Fischer Garcia Hughes Ito Jensen Khan Larsen Moreau Novak "
    "Okafor Patel Quinn Rossi Schmidt Tanaka Urban Varga Walsh Xu Young Zimmer Andersen Brooks "
    "Chen Dalton Ellis Fontaine Gupta Horvat Ibsen Jones Kowalski Lopez Meyer Nakamura"
).split()
COMPANY_STEMS = (
    "Northwind Globex Initech Umbrella Hooli Vandelay Stark Wayne Tyrell Cyberdyne Soylent Oceanic "
    "Gringotts Monarch Wonka Aperture Dunder Massive Pied Prestige Sterling Virtucon Wernham Zenith "
    "Bluebird Copperleaf Evergreen Fairview Greenfield Harbour"
).split()
COMPANY_KINDS = (
    "Ltd",
    "GmbH",
    "Logistics",
    "Foods",
    "Labs",
    "Consulting",
    "Health",
    "Media",
    "Energy",
    "Retail",
    "Architects",
    "Legal",
)
TIMEZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "Asia/Tokyo")

# Subjects per category: (template, slot values); every slot is filled at random.
SLOTS = {
    "thing": (
        "VPN",
        "Laptop",
        "Outlook",
        "Printer on the 3rd floor",
        "Wi-Fi in meeting room B",
        "Shared drive",
        "Teams",
        "Docking station",
        "Second monitor",
        "Calendar sync",
        "Build server",
        "Staging server",
        "Backup job",
        "Intranet",
        "CRM login",
        "Webcam",
        "Headset",
        "Scanner",
        "Keyboard",
        "Password manager",
    ),
    "problem": (
        "keeps disconnecting",
        "stopped working after the update",
        "is very slow today",
        "keeps asking for my password",
        "shows an error on start",
        "freezes when I open it",
        "cannot connect",
        "is read-only since Monday",
        "needs setting up for a new starter",
        "crashes several times a day",
    ),
    "count": ("5", "10", "12", "25", "50", "100", "250"),
    "product": ("Business", "Enterprise", "Team", "Starter", "analytics add-on", "mobile"),
    "team": ("operations", "finance", "marketing", "support", "engineering", "legal"),
    "month": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),  # fmt: skip
    "segment": ("schools", "charities", "start-ups", "universities", "public sector"),
}
SUBJECTS = {
    "IT": ("{thing} {problem}", "{thing} {problem}", "{thing} {problem} (asset {ref})"),
    "Sales": (
        "Quote for {count} extra {product} licences",
        "Volume discount on the {product} plan",
        "Demo of {product} for our {team} team",
        "Upgrade from Starter to {product}",
        "Contract {ref} renewal questions",
        "Pricing for {segment}",
        "Trial extension for our {team} team",
    ),
    "Billing": (
        "Invoice {ref} shows the wrong VAT number",
        "Charged twice in {month}",
        "Refund for unused days in {month}",
        "Card declined at renewal",
        "Purchase-order number needed on invoice {ref}",
        "Change the billing e-mail address",
        "Credit note for downtime in {month}",
        "Invoice {ref} not received",
    ),
}
OPENINGS = ("Hello,", "Hi team,", "Good morning,", "Hi,", "Dear support,", "Hello there,")
DETAILS = {
    "IT": (
        "It started after this morning's restart and happens on both my laptop and desktop.",
        "Colleagues sitting next to me have the same problem, so it may not be my machine.",
        "I tried switching it off and on again and clearing the cache; no change.",
        "The error says 'connection timed out' and then the window closes.",
        "It worked fine last week; the only change is the update that was installed on Friday.",
        "This blocks me from working on the release, so a quick look would help a lot.",
    ),
    "Sales": (
        "We are happy with the product and want to roll it out to more people.",
        "Our budget for next year is being decided this month, so timing matters.",
        "Could you include the price per seat and any discount for paying annually?",
        "We would like to compare it with what we pay today before we decide.",
        "A short call with someone who knows the enterprise features would be great.",
    ),
    "Billing": (
        "Our finance team cannot book the invoice until this is fixed.",
        "The amount on the statement does not match what we agreed.",
        "Please send a corrected document to accounts@ rather than to me.",
        "I have attached nothing yet, but can send the bank statement if that helps.",
        "We need this sorted before our month-end close on Friday.",
    ),
}
CLOSINGS = ("Thanks!", "Many thanks,", "Best regards,", "Thank you in advance.", "Cheers,")
CUSTOMER_ADDITIONS = (
    "One more detail: it also happens when I work from home.",
    "Adding to my message: this affects three people in my team now.",
    "I forgot to say: we are on the latest version.",
    "Small update: it got worse this afternoon.",
    "For reference, the last time it worked was yesterday around 4 pm.",
    "A colleague suggested it could be related to the network change last week.",
)
AGENT_REPLIES = {
    "IT": (
        "Thanks for the details. I have reset your profile on our side; could you sign out and in again?",
        "We found the cause: a certificate expired overnight. It has been renewed, please try again.",
        "I pushed the latest driver to your device. Please restart it and tell us if it still happens.",
        "Your access has been granted; it can take up to 15 minutes to apply.",
        "Could you send a screenshot of the error and the time it happened? Then we can check the logs.",
    ),
    "Sales": (
        "Thanks for your interest! I have attached a quote with the annual discount applied.",
        "Happy to set up a demo. Would Tuesday or Thursday afternoon suit your team?",
        "Yes, we offer reduced pricing for that; I have sent the details by separate message.",
        "Upgrading mid-term is possible; you only pay the difference for the remaining months.",
    ),
    "Billing": (
        "Sorry about that. I have issued a corrected invoice; you will find it on your billing page.",
        "I can confirm the duplicate charge; the refund is on its way and takes 5-10 working days.",
        "Done: invoices will go to the new address from the next billing run.",
        "I have added the purchase-order number; the updated invoice is available now.",
    ),
}
CUSTOMER_REPLIES = (
    "Thanks, that fixed it.",
    "Confirmed, it works now. Thank you!",
    "Thanks for the quick answer, that is what we needed.",
    "It is better now, but I will let you know if it comes back.",
    "Great, I have forwarded this to my manager.",
    "Thank you, received. We will go ahead.",
    "Unfortunately it still happens from time to time.",
)
FOLLOW_UPS = (
    "Any news on this?",
    "Just checking whether someone has had a chance to look at this.",
    "This is getting urgent for us, could someone have a look today?",
)
NOTES = (
    "Checked the logs: looks like a configuration issue on their side.",
    "Customer is a key account, keep them posted.",
    "Same problem reported by two other customers this week; probably linked.",
    "Escalated to the second line; waiting for their answer.",
    "Verified identity by phone before changing anything.",
    "Reminder: offer a call if this is not fixed by Friday.",
)
TAGS = {
    "IT": ("network", "hardware", "software", "access", "email", "vpn", "printer", "onboarding"),
    "Sales": ("quote", "renewal", "upgrade", "demo", "discount", "lead"),
    "Billing": ("invoice", "refund", "vat", "card", "credit-note", "po-number"),
}
