"""Capitals stand for their governments in news and policy writing ("Beijing's white paper", "talks between
Caracas and Washington"), while a library may only name the country. This table, general knowledge like a
stemmer's rules, lets a question in one form match passages in the other."""

from __future__ import annotations

CAPITALS: dict[str, str] = {
    "Kabul": "Afghanistan", "Tirana": "Albania", "Algiers": "Algeria", "Andorra la Vella": "Andorra",
    "Luanda": "Angola", "Saint John's": "Antigua and Barbuda", "Buenos Aires": "Argentina", "Yerevan": "Armenia",
    "Canberra": "Australia", "Vienna": "Austria", "Baku": "Azerbaijan", "Nassau": "Bahamas", "Manama": "Bahrain",
    "Dhaka": "Bangladesh", "Bridgetown": "Barbados", "Minsk": "Belarus", "Brussels": "Belgium",
    "Belmopan": "Belize", "Porto-Novo": "Benin", "Thimphu": "Bhutan", "La Paz": "Bolivia", "Sucre": "Bolivia",
    "Sarajevo": "Bosnia and Herzegovina", "Gaborone": "Botswana", "Brasília": "Brazil", "Brasilia": "Brazil",
    "Bandar Seri Begawan": "Brunei", "Sofia": "Bulgaria", "Ouagadougou": "Burkina Faso", "Gitega": "Burundi",
    "Praia": "Cabo Verde", "Phnom Penh": "Cambodia", "Yaoundé": "Cameroon", "Ottawa": "Canada",
    "Bangui": "Central African Republic", "N'Djamena": "Chad", "Santiago": "Chile", "Beijing": "China",
    "Bogotá": "Colombia", "Bogota": "Colombia", "Moroni": "Comoros", "Kinshasa": "Congo", "Brazzaville": "Congo",
    "San José": "Costa Rica", "San Jose": "Costa Rica", "Zagreb": "Croatia", "Havana": "Cuba",
    "Nicosia": "Cyprus", "Prague": "Czech Republic", "Copenhagen": "Denmark", "Djibouti": "Djibouti",
    "Roseau": "Dominica", "Santo Domingo": "Dominican Republic", "Quito": "Ecuador", "Cairo": "Egypt",
    "San Salvador": "El Salvador", "Malabo": "Equatorial Guinea", "Asmara": "Eritrea", "Tallinn": "Estonia",
    "Mbabane": "Eswatini", "Addis Ababa": "Ethiopia", "Suva": "Fiji", "Helsinki": "Finland", "Paris": "France",
    "Libreville": "Gabon", "Banjul": "Gambia", "Tbilisi": "Georgia", "Berlin": "Germany", "Accra": "Ghana",
    "Athens": "Greece", "St. George's": "Grenada", "Guatemala City": "Guatemala", "Conakry": "Guinea",
    "Bissau": "Guinea-Bissau", "Georgetown": "Guyana", "Port-au-Prince": "Haiti", "Tegucigalpa": "Honduras",
    "Budapest": "Hungary", "Reykjavik": "Iceland", "New Delhi": "India", "Jakarta": "Indonesia",
    "Tehran": "Iran", "Baghdad": "Iraq", "Dublin": "Ireland", "Jerusalem": "Israel", "Rome": "Italy",
    "Kingston": "Jamaica", "Tokyo": "Japan", "Amman": "Jordan", "Astana": "Kazakhstan", "Nairobi": "Kenya",
    "Tarawa": "Kiribati", "Kuwait City": "Kuwait", "Bishkek": "Kyrgyzstan", "Vientiane": "Laos", "Riga": "Latvia",
    "Beirut": "Lebanon", "Maseru": "Lesotho", "Monrovia": "Liberia", "Tripoli": "Libya", "Vaduz": "Liechtenstein",
    "Vilnius": "Lithuania", "Luxembourg": "Luxembourg", "Antananarivo": "Madagascar", "Lilongwe": "Malawi",
    "Kuala Lumpur": "Malaysia", "Malé": "Maldives", "Bamako": "Mali", "Valletta": "Malta", "Majuro": "Marshall Islands",
    "Nouakchott": "Mauritania", "Port Louis": "Mauritius", "Mexico City": "Mexico", "Palikir": "Micronesia",
    "Chisinau": "Moldova", "Monaco": "Monaco", "Ulaanbaatar": "Mongolia", "Podgorica": "Montenegro",
    "Rabat": "Morocco", "Maputo": "Mozambique", "Naypyidaw": "Myanmar", "Windhoek": "Namibia", "Yaren": "Nauru",
    "Kathmandu": "Nepal", "Amsterdam": "Netherlands", "The Hague": "Netherlands", "Wellington": "New Zealand",
    "Managua": "Nicaragua", "Niamey": "Niger", "Abuja": "Nigeria", "Pyongyang": "North Korea",
    "Skopje": "North Macedonia", "Oslo": "Norway", "Muscat": "Oman", "Islamabad": "Pakistan", "Ngerulmud": "Palau",
    "Panama City": "Panama", "Port Moresby": "Papua New Guinea", "Asunción": "Paraguay", "Asuncion": "Paraguay",
    "Lima": "Peru", "Manila": "Philippines", "Warsaw": "Poland", "Lisbon": "Portugal", "Doha": "Qatar",
    "Bucharest": "Romania", "Moscow": "Russia", "Kigali": "Rwanda", "Basseterre": "Saint Kitts and Nevis",
    "Castries": "Saint Lucia", "Kingstown": "Saint Vincent and the Grenadines", "Apia": "Samoa",
    "San Marino": "San Marino", "São Tomé": "Sao Tome and Principe", "Riyadh": "Saudi Arabia", "Dakar": "Senegal",
    "Belgrade": "Serbia", "Victoria": "Seychelles", "Freetown": "Sierra Leone", "Singapore": "Singapore",
    "Bratislava": "Slovakia", "Ljubljana": "Slovenia", "Honiara": "Solomon Islands", "Mogadishu": "Somalia",
    "Pretoria": "South Africa", "Seoul": "South Korea", "Juba": "South Sudan", "Madrid": "Spain",
    "Colombo": "Sri Lanka", "Khartoum": "Sudan", "Paramaribo": "Suriname", "Stockholm": "Sweden", "Bern": "Switzerland",
    "Damascus": "Syria", "Taipei": "Taiwan", "Dushanbe": "Tajikistan", "Dodoma": "Tanzania", "Bangkok": "Thailand",
    "Dili": "Timor-Leste", "Lomé": "Togo", "Nuku'alofa": "Tonga", "Port of Spain": "Trinidad and Tobago",
    "Tunis": "Tunisia", "Ankara": "Turkey", "Ashgabat": "Turkmenistan", "Funafuti": "Tuvalu", "Kampala": "Uganda",
    "Kyiv": "Ukraine", "Kiev": "Ukraine", "Abu Dhabi": "United Arab Emirates", "London": "United Kingdom",
    "Washington": "United States", "Montevideo": "Uruguay", "Tashkent": "Uzbekistan", "Port Vila": "Vanuatu",
    "Caracas": "Venezuela", "Hanoi": "Vietnam", "Sanaa": "Yemen", "Lusaka": "Zambia", "Harare": "Zimbabwe",
}

#: Common short forms no document needs to define.
COMMON_ALIASES: dict[str, str] = {
    "PRC": "China", "U.S.": "United States", "US": "United States", "USA": "United States",
    "UK": "United Kingdom", "U.K.": "United Kingdom", "EU": "European Union", "E.U.": "European Union",
    "UN": "United Nations", "U.N.": "United Nations",
}

COUNTRIES: tuple[str, ...] = tuple(sorted(set(CAPITALS.values()), key=len, reverse=True))
